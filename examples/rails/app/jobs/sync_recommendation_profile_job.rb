# frozen_string_literal: true

# Sends a user's demographics to the recommendations service. Idempotent (PUT), so retries are safe:
# an unreachable service, a 5xx or a wrong or rotated password is retried with backoff and then
# fails loudly; a 422 (data the service refuses: the detail names the field) is reported, not
# retried.
class SyncRecommendationProfileJob < ApplicationJob
  queue_as :default

  retry_on RecommendationClient::Error, wait: :polynomially_longer, attempts: 10

  def perform(user_id)
    user = User.find_by(id: user_id)
    return if user.nil?

    client.sync_user_profile(user.id, **user.recommendation_profile)
  rescue RecommendationClient::Error => e
    raise unless e.status == 422

    Rails.logger.warn("recommendations: profile of user #{user_id} refused: #{e.detail} (#{e.request_id})")
  end

  private

  def client
    Rails.application.config.x.recommendations or raise RecommendationClient::Unavailable, "no client configured"
  end
end
