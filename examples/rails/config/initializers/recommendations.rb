# frozen_string_literal: true

# The recommendations service's client, built once at boot. Credentials come from the environment
# (containers) or from Rails credentials (bin/rails credentials:edit):
#
#   recommendations:
#     url: https://recommendations.internal:8000
#     username: rails
#     password: <the service's BASIC_AUTH_PASSWORD, 16+ characters>
#
# The Rails app holds the Rails pair only; the admin pair (ADMIN_BASIC_AUTH_*) stays with operators.
# Without them (a CI box, assets:precompile) no client is built, and the feed serves its fallback.
require Rails.root.join("lib/recommendation_client").to_s

Rails.application.config.after_initialize do
  settings = Rails.application.credentials.recommendations || {}
  url, username, password = %w[URL USERNAME PASSWORD].map do |name|
    ENV.fetch("RECOMMENDATIONS_#{name}") { settings[name.downcase.to_sym] }
  end
  Rails.application.config.x.recommendations =
    if url && username && password
      RecommendationClient.new(base_url: url, username: username, password: password,
                               open_timeout: 1, read_timeout: 2)
    else
      Rails.logger.warn("recommendations: no URL or credentials; the gift feed serves its fallback")
      nil
    end
end
