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
require Rails.root.join("lib/recommendation_client").to_s

Rails.application.config.after_initialize do
  settings = Rails.application.credentials.recommendations || {}
  Rails.application.config.x.recommendations = RecommendationClient.new(
    base_url: ENV.fetch("RECOMMENDATIONS_URL") { settings.fetch(:url) },
    username: ENV.fetch("RECOMMENDATIONS_USERNAME") { settings.fetch(:username) },
    password: ENV.fetch("RECOMMENDATIONS_PASSWORD") { settings.fetch(:password) },
    open_timeout: 1,
    read_timeout: 2
  )
end
