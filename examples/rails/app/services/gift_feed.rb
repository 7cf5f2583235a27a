# frozen_string_literal: true

# The "gifts you may like" feed: a page of presents from the recommendations service, as records, in
# the service's order; when the service is down or slow, the newest public presents instead, so the
# page always renders (the view may say "popular right now" when result.degraded).
#
#   result = GiftFeed.for(current_user, page: params.fetch(:page, 1).to_i)
#   result.presents   # HandpickedPresent records, best first
#   result.algorithm  # "collaborative", "content_based", "popular", or "fallback"
#   result.pagination # the service's pagination hash ({} for the fallback)
class GiftFeed
  Result = Struct.new(:presents, :algorithm, :pagination, :degraded, keyword_init: true)

  def self.for(user, page: 1, per_page: 20, exclude: [])
    new.for(user, page: page, per_page: per_page, exclude: exclude)
  end

  def for(user, page:, per_page:, exclude:)
    raise RecommendationClient::Unavailable, "no client configured" if client.nil?

    response = client.get_personalized_recommendations(
      user_id: user.id, pagination: { page: page, limit: per_page }, exclude: exclude
    )
    ids = response.fetch("items")
    Result.new(presents: in_order(ids), algorithm: response["algorithm_used"],
               pagination: response.fetch("pagination"), degraded: response["degraded"] || false)
  rescue RecommendationClient::Error => e
    Rails.logger.warn("recommendations: feed of user #{user.id} served locally: #{e.message}")
    Result.new(presents: fallback(page, per_page), algorithm: "fallback", pagination: {}, degraded: true)
  end

  private

  # One query for the page, kept in the service's order; an id deleted since the service's last
  # sync is dropped (compact), never an error.
  def in_order(ids)
    HandpickedPresent.where(id: ids).index_by(&:id).values_at(*ids).compact
  end

  # Only public presents (user_id IS NULL), like everything the service returns.
  def fallback(page, per_page)
    HandpickedPresent.where(user_id: nil, available: true).order(created_at: :desc, id: :desc)
                     .offset((page - 1) * per_page).limit(per_page).to_a
  end

  def client
    Rails.application.config.x.recommendations
  end
end
