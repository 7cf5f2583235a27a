# frozen_string_literal: true

# RecommendationClient: the MySanta Rails side of the recommendations service, with Ruby's
# standard library only (Net::HTTP, JSON, HTTP Basic auth).
#
#   client = RecommendationClient.new(base_url: "http://127.0.0.1:8000",
#                                     username: ENV.fetch("RECS_USER"), password: ENV.fetch("RECS_PASSWORD"))
#   client.get_popular_items(user_params: { gender: "female", age: "25-34" }, filters: { price_to: 50 })
#   client.get_personalized_recommendations(user_id: user.uuid, pagination: { page: 1, limit: 20 },
#                                           request_id: request.request_id)
#   client.get_similar_items(present_id: present.uuid, user_id: user&.uuid, pagination: { limit: 8 })
#   client.dismiss_present(user_id: user.uuid, present_id: present.uuid)   # "not interested"
#   client.undo_dismissal(user_id: user.uuid, present_id: present.uuid)
#   client.sync_user_profile(user.uuid, gender: "female", birth_date: "1990-05-01", locale: "en", geo_id: 3)
#   client.patch_user_profile(user.uuid, gender: "male")      # only what changed; nil clears a field
#   client.get_user_profile(user.uuid)
#   client.erase_user_profile(user.uuid)   # after the user is deleted in the Rails database
#
# Every method returns the parsed JSON body (a Hash; empty for erase_user_profile) and takes an
# optional request_id, sent as X-Request-ID so the service's logs carry the Rails request's id.
#
# Every failure raises RecommendationClient::Error, so one `rescue RecommendationClient::Error`
# keeps a page up whatever happened:
# - an answer of 4xx or 5xx: #status, #detail, #errors (the problem+json list of bad fields, each
#   {"field", "message", "in"}), #request_id, and #retry_after on a 503;
# - an answer that is not the JSON expected (a proxy's HTML 502 page): #status set, #detail says so;
# - no answer (refused, reset, open or read timeout, unknown host, TLS): the subclass
#   RecommendationClient::Unavailable, with #status nil.
# Timeouts are short: recommendations must never hold up a page.
#
# Connections are kept open and reused (HTTP keep-alive), one per thread, so the client is safe to
# share between Puma's threads; a kept connection the service has closed meanwhile is reopened and
# the request sent again once.
require "json"
require "net/http"
require "openssl"
require "uri"

class RecommendationClient
  class Error < StandardError
    attr_reader :status, :detail, :errors, :request_id, :retry_after

    def initialize(status, detail, request_id, retry_after, errors = [])
      @status = status
      @detail = detail
      @errors = errors || []
      @request_id = request_id
      @retry_after = retry_after
      super(status ? "recommendations service answered #{status}: #{detail} (request #{request_id})"
                   : "recommendations service unavailable: #{detail}")
    end
  end

  # The service could not be reached or did not answer in time (or no client is configured).
  class Unavailable < Error
    def initialize(cause, request_id = nil)
      super(nil, cause.is_a?(Exception) ? "#{cause.class}: #{cause.message}" : cause.to_s, request_id, nil)
    end
  end

  # Failures of a connection the service may have closed while it sat idle: worth one new try.
  STALE_CONNECTION_ERRORS = [EOFError, Errno::ECONNRESET, Errno::EPIPE, IOError].freeze

  def initialize(base_url:, username:, password:, open_timeout: 1, read_timeout: 2, keep_alive_timeout: 4)
    @uri = URI(base_url)
    @username = username
    @password = password
    @open_timeout = open_timeout
    @read_timeout = read_timeout
    # Below the service's HTTP_KEEP_ALIVE_TIMEOUT_S (5): the client closes an idle connection first.
    @keep_alive_timeout = keep_alive_timeout
    @connection_key = :"recommendation_client_#{object_id}"
  end

  # POST /popular: popular presents for a demographic segment.
  # filters: price_from, price_to, category, categories, exclude_categories, platform (names in any case).
  def get_popular_items(user_params: {}, filters: {}, pagination: {}, exclude: [], max_per_category: nil,
                        request_id: nil)
    body = { user_params: user_params, filters: filters, pagination: pagination, exclude: exclude }
    body[:max_per_category] = max_per_category unless max_per_category.nil?
    call(Net::HTTP::Post, "/popular", body, request_id)
  end

  # POST /personalized: presents for one user (tiers by their interactions).
  def get_personalized_recommendations(user_id:, geo_id: nil, filters: {}, pagination: {}, exclude: [],
                                       max_per_category: nil, request_id: nil)
    body = { user_id: user_id, filters: filters, pagination: pagination, exclude: exclude }
    body[:geo_id] = geo_id unless geo_id.nil?
    body[:max_per_category] = max_per_category unless max_per_category.nil?
    call(Net::HTTP::Post, "/personalized", body, request_id)
  end

  # POST /similar: presents like present_id ("people who took this also took"); with user_id, none
  # that user took. An unknown or private present_id raises an Error with status 404.
  def get_similar_items(present_id:, user_id: nil, geo_id: nil, filters: {}, pagination: {}, exclude: [],
                        max_per_category: nil, request_id: nil)
    body = { present_id: present_id, filters: filters, pagination: pagination, exclude: exclude }
    body[:user_id] = user_id unless user_id.nil?
    body[:geo_id] = geo_id unless geo_id.nil?
    body[:max_per_category] = max_per_category unless max_per_category.nil?
    call(Net::HTTP::Post, "/similar", body, request_id)
  end

  # POST /feedback: the user is not interested in the present; it leaves their pages at once.
  def dismiss_present(user_id:, present_id:, request_id: nil)
    call(Net::HTTP::Post, "/feedback", { user_id: user_id, present_id: present_id, kind: "dismiss" }, request_id)
  end

  # DELETE /feedback: undo a dismissal (idempotent; returns an empty Hash).
  def undo_dismissal(user_id:, present_id:, request_id: nil)
    query = URI.encode_www_form(user_id: user_id, present_id: present_id, kind: "dismiss")
    call(Net::HTTP::Delete, "/feedback?#{query}", nil, request_id)
  end

  # GET /facets: categories and platforms (with counts) and price quantiles, for a filter UI.
  def get_facets(request_id: nil)
    call(Net::HTTP::Get, "/facets", nil, request_id)
  end

  # GET /user-profile/{user_id}: demographics, preference profile and tier (404 for an unknown user).
  def get_user_profile(user_id, request_id: nil)
    call(Net::HTTP::Get, profile_path(user_id), nil, request_id)
  end

  # PUT /user-profile/{user_id}: store (replace) the user's demographics; a field not given is cleared.
  def sync_user_profile(user_id, gender: nil, age_group: nil, birth_date: nil, locale: nil, geo_id: nil,
                        request_id: nil)
    body = { gender: gender, age_group: age_group, birth_date: birth_date, locale: locale, geo_id: geo_id }
    call(Net::HTTP::Put, profile_path(user_id), body.compact, request_id)
  end

  # PATCH /user-profile/{user_id}: change only the fields given (a JSON merge patch); nil clears one.
  #   client.patch_user_profile(id, gender: "male")   # birth date, locale and region stay
  #   client.patch_user_profile(id, locale: nil)      # clears the locale
  def patch_user_profile(user_id, request_id: nil, **changes)
    call(Net::HTTP::Patch, profile_path(user_id), changes, request_id, "application/merge-patch+json")
  end

  # DELETE /user-profile/{user_id}: erase what the service holds of the user (idempotent). Delete the
  # user's likes and clicks in the Rails database first: the service reads them back from there.
  def erase_user_profile(user_id, request_id: nil)
    call(Net::HTTP::Delete, profile_path(user_id), nil, request_id)
  end

  # Close this thread's connection (it is reopened on the next call).
  def close
    connection = Thread.current[@connection_key]
    Thread.current[@connection_key] = nil
    connection&.finish if connection&.started?
  rescue StandardError
    nil
  end

  private

  def profile_path(user_id)
    "/user-profile/#{URI.encode_www_form_component(user_id.to_s)}"
  end

  def call(method, route, body, request_id, content_type = "application/json")
    http_request = method.new("#{@uri.path.chomp('/')}#{route}")
    http_request.basic_auth(@username, @password)
    http_request["Accept"] = "application/json"
    http_request["X-Request-ID"] = request_id.to_s if request_id
    unless body.nil?
      http_request["Content-Type"] = content_type
      http_request.body = JSON.generate(body)
    end
    answer(send_request(http_request, request_id))
  end

  # The response, over this thread's kept connection; any failure to get one is Unavailable.
  def send_request(http_request, request_id)
    attempts = 0
    begin
      attempts += 1
      reused = !Thread.current[@connection_key].nil?
      connection.request(http_request)
    rescue *STALE_CONNECTION_ERRORS => e
      close
      retry if reused && attempts == 1
      raise Unavailable.new(e, request_id)
    rescue StandardError => e # timeouts, refused, unknown host, TLS, a malformed answer
      close
      raise Unavailable.new(e, request_id)
    end
  end

  def connection
    Thread.current[@connection_key] ||= begin
      http = Net::HTTP.new(@uri.host, @uri.port)
      http.use_ssl = @uri.scheme == "https"
      http.open_timeout = @open_timeout
      http.read_timeout = @read_timeout
      http.write_timeout = @read_timeout
      http.keep_alive_timeout = @keep_alive_timeout
      http.start
    end
  end

  def answer(response)
    parsed = parse(response.body)
    return parsed if response.is_a?(Net::HTTPSuccess) && parsed

    status = response.code.to_i
    parsed ||= { "detail" => "a #{response.content_type || 'non-JSON'} answer: #{response.body.to_s[0, 200]}" }
    errors = parsed["errors"].is_a?(Array) ? parsed["errors"] : []
    raise Error.new(status, parsed["detail"] || response.message, parsed["request_id"] || response["X-Request-ID"],
                    response["Retry-After"], errors)
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
