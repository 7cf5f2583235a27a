# frozen_string_literal: true

# Include in User: after a commit that changed what the recommendations service segments by, the
# demographics are sent to it (PUT /user-profile/{id}) from a background job, so a slow or down
# service never holds up a save. after_commit, not after_save: a rolled-back change is never sent.
# A destroyed user is erased from the service once the destroy (with the user's likes and clicks)
# has committed.
#
#   class User < ApplicationRecord
#     include RecommendationProfileSync
#   end
module RecommendationProfileSync
  extend ActiveSupport::Concern

  SYNCED_ATTRIBUTES = %w[gender birth_date locale geo_id].freeze

  included do
    after_commit :sync_recommendation_profile, on: %i[create update],
                                               if: -> { saved_changes.keys.intersect?(SYNCED_ATTRIBUTES) }
    after_destroy_commit :erase_recommendation_profile
  end

  def sync_recommendation_profile
    SyncRecommendationProfileJob.perform_later(id)
  end

  def erase_recommendation_profile
    EraseRecommendationProfileJob.perform_later(id)
  end

  # The body of PUT /user-profile/{id}: gender m/f/male/female, birth_date (the service derives the
  # age group), locale, geo_id. PUT replaces: send every field, nil for unknown.
  def recommendation_profile
    { gender: gender, birth_date: birth_date&.iso8601, locale: locale, geo_id: geo_id }
  end
end
