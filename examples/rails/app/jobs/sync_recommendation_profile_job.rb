# frozen_string_literal: true

# Sends a user's demographics to the recommendations service. Idempotent (PUT), so retries are safe:
# an unreachable service or a 503 is retried with backoff; a 422 (data the service refuses) is not
# retried, it is reported.
class SyncRecommendationProfileJob < ApplicationJob
  queue_as :default

  retry_on RecommendationClient::Unavailable, wait: :polynomially_longer, attempts: 10

  def perform(user_id)
    user = User.find_by(id: user_id)
    return if user.nil?

    client.sync_user_profile(user.id, **user.recommendation_profile)
  rescue RecommendationClient::Error => e
    raise if e.status.nil? || e.status >= 500 # retried (Unavailable above, 5xx by the job backend)

    Rails.logger.warn("recommendations: profile of user #{user_id} refused: #{e.detail} (#{e.request_id})")
  end

  private

  def client
    Rails.application.config.x.recommendations
  end
end
