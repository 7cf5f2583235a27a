# frozen_string_literal: true

# RecommendationClient: the MySanta Rails side of the recommendations service, with Ruby's
# standard library only (Net::HTTP, JSON, HTTP Basic auth).
#
#   client = RecommendationClient.new(base_url: "http://127.0.0.1:8000",
#                                     username: ENV.fetch("RECS_USER"), password: ENV.fetch("RECS_PASSWORD"))
#   client.get_popular_items(user_params: { gender: "female", age: "25-34" }, filters: { price_to: 50 })
#   client.get_personalized_recommendations(user_id: user.uuid, pagination: { page: 1, limit: 20 })
#   client.sync_user_profile(user.uuid, gender: "female", birth_date: "1990-05-01", locale: "en", geo_id: 3)
#   client.erase_user_profile(user.uuid)   # after the user is deleted in the Rails database
#
# Every method returns the parsed JSON body (a Hash; empty for erase_user_profile). A 4xx or 5xx raises
# RecommendationClient::Error with the status, the problem+json detail and the request id; a 503
# carries Retry-After in #retry_after. A service that cannot be reached in time (refused, reset,
# timed out, unknown host) raises RecommendationClient::Unavailable, an Error with status nil.
# Timeouts are short: recommendations must never hold up a page.
require "json"
require "net/http"
require "openssl"
require "uri"

class RecommendationClient
  class Error < StandardError
    attr_reader :status, :detail, :request_id, :retry_after

    def initialize(status, detail, request_id, retry_after)
      @status = status
      @detail = detail
      @request_id = request_id
      @retry_after = retry_after
      super(status ? "recommendations service answered #{status}: #{detail} (request #{request_id})"
                   : "recommendations service unavailable: #{detail}")
    end
  end

  # The service could not be reached or did not answer in time (or no client is configured).
  class Unavailable < Error
    def initialize(cause)
      super(nil, cause.is_a?(Exception) ? "#{cause.class}: #{cause.message}" : cause.to_s, nil, nil)
    end
  end

  NETWORK_ERRORS = [Net::OpenTimeout, Net::ReadTimeout, Net::WriteTimeout, Errno::ECONNREFUSED,
                    Errno::ECONNRESET, Errno::EHOSTUNREACH, Errno::ENETUNREACH, Errno::ETIMEDOUT,
                    Errno::EPIPE, SocketError, EOFError, IOError, OpenSSL::SSL::SSLError].freeze

  def initialize(base_url:, username:, password:, open_timeout: 1, read_timeout: 2)
    @uri = URI(base_url)
    @username = username
    @password = password
    @open_timeout = open_timeout
    @read_timeout = read_timeout
  end

  # POST /popular: popular presents for a demographic segment.
  def get_popular_items(user_params: {}, filters: {}, pagination: {})
    post("/popular", { user_params: user_params, filters: filters, pagination: pagination })
  end

  # POST /personalized: presents for one user (tiers by their interactions).
  def get_personalized_recommendations(user_id:, geo_id: nil, filters: {}, pagination: {}, exclude: [])
    body = { user_id: user_id, filters: filters, pagination: pagination, exclude: exclude }
    body[:geo_id] = geo_id unless geo_id.nil?
    post("/personalized", body)
  end

  # PUT /user-profile/{user_id}: store the user's demographics (call it when the profile changes).
  def sync_user_profile(user_id, gender: nil, age_group: nil, birth_date: nil, locale: nil, geo_id: nil)
    body = { gender: gender, age_group: age_group, birth_date: birth_date, locale: locale, geo_id: geo_id }
    request(Net::HTTP::Put.new(path("/user-profile/#{URI.encode_www_form_component(user_id)}")), body.compact)
  end

  # DELETE /user-profile/{user_id}: erase what the service holds of the user (idempotent). Delete the
  # user's likes and clicks in the Rails database first: the service reads them back from there.
  def erase_user_profile(user_id)
    request(Net::HTTP::Delete.new(path("/user-profile/#{URI.encode_www_form_component(user_id)}")), nil)
  end

  private

  def post(route, body)
    request(Net::HTTP::Post.new(path(route)), body)
  end

  def path(route)
    "#{@uri.path.chomp('/')}#{route}"
  end

  def request(http_request, body)
    http_request.basic_auth(@username, @password)
    http_request["Content-Type"] = "application/json"
    http_request["Accept"] = "application/json"
    http_request.body = JSON.generate(body) unless body.nil?
    begin
      response = Net::HTTP.start(@uri.host, @uri.port, use_ssl: @uri.scheme == "https",
                                 open_timeout: @open_timeout, read_timeout: @read_timeout) do |http|
        http.request(http_request)
      end
    rescue *NETWORK_ERRORS => e
      raise Unavailable, e
    end
    parsed = parse(response.body)
    return parsed if response.is_a?(Net::HTTPSuccess) && parsed

    parsed ||= { "detail" => "a #{response.content_type || 'non-JSON'} body: #{response.body.to_s[0, 200]}" }
    raise Error.new(response.code.to_i, parsed["detail"], parsed["request_id"] || response["X-Request-ID"],
                    response["Retry-After"])
  end

  # The JSON body as a Hash; nil for anything else (a proxy's HTML error page, say).
  def parse(body)
    return {} if body.to_s.empty?

    parsed = JSON.parse(body)
    parsed.is_a?(Hash) ? parsed : nil
  rescue JSON::ParserError
    nil
  end
end
