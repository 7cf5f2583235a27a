# frozen_string_literal: true

# Erases a deleted user from the recommendations service (DELETE /user-profile/{id}). Idempotent, so
# retries are safe: an unreachable service, a 5xx (a 503 says when to retry) or a wrong or rotated
# password is retried with backoff and then fails loudly. It runs after the user's row, likes and
# clicks are gone from the Rails database: the service reads those back from there otherwise.
class EraseRecommendationProfileJob < ApplicationJob
  queue_as :default

  retry_on RecommendationClient::Error, wait: :polynomially_longer, attempts: 10

  def perform(user_id)
    client.erase_user_profile(user_id)
  end

  private

  def client
    Rails.application.config.x.recommendations or raise RecommendationClient::Unavailable, "no client configured"
  end
end
