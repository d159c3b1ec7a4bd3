#include "visbone/serve/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "visbone/core/errors.h"
#include "visbone/serve/service.h"

namespace visbone::serve {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr auto kMaxDrain = std::chrono::seconds(30);

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

class Session;

// What the sessions share.
struct State {
  State(Service& s, const ServeOptions& o) : service(s), options(o) {}
  Service& service;
  const ServeOptions& options;
  std::atomic<bool> draining{false};
  std::mutex mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  int open() {
    std::lock_guard lock(mutex);
    return static_cast<int>(sessions.size());
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, State& state) : stream_(std::move(socket)), state_(state) {}
  ~Session() {
    std::lock_guard lock(state_.mutex);
    state_.sessions.erase(this);
    state_.service.metrics().set_connections(static_cast<int>(state_.sessions.size()));
  }

  void start() {
    {
      std::lock_guard lock(state_.mutex);
      state_.sessions[this] = weak_from_this();
      state_.service.metrics().set_connections(static_cast<int>(state_.sessions.size()));
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // Called on drain: a connection waiting for its next request is closed; one in a request finishes it.
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->close();
    });
  }

 private:
  void read_header() {
    busy_ = false;
    if (state_.draining) return close();
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(static_cast<std::uint64_t>(state_.options.max_body_bytes));
    stream_.expires_after(seconds(state_.options.header_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  // `header_bytes`: what the parser consumed for the header, from the request line to the blank line. Beast's
  // header_limit leaves out the lines parsed before the read that went over it, so the exact cap is here.
  void on_header(beast::error_code ec, std::size_t header_bytes) {
    if (ec) return on_error(ec);
    if (header_bytes > kMaxHeaderBytes) return on_error(http::error::header_limit);
    busy_ = true;
    stream_.expires_after(seconds(state_.options.read_timeout_seconds));
    const auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue") && !parser_->is_done()) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
        if (e) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  // Answer what can be answered (a truncated or oversized body, a malformed request), then close.
  void on_error(beast::error_code ec) {
    if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    if (ec == http::error::body_limit)
      return fail(413,
                  "the body is over max_body_bytes (" + std::to_string(state_.options.max_body_bytes) + ")");
    if (ec == http::error::header_limit)
      return fail(431, "the request header is over " + std::to_string(kMaxHeaderBytes) + " bytes");
    if (ec == http::error::partial_message && !parser_->is_header_done())
      return fail(400, "truncated request: the connection ended inside the header");
    if (ec == http::error::partial_message)
      return fail(400, "truncated request: the connection ended before the body was complete" +
                           (parser_->content_length()
                                ? " (" + std::to_string(*parser_->content_length()) + " bytes announced)"
                                : std::string()));
    return fail(400, "malformed HTTP request: " + ec.message());
  }

  void fail(int status, const std::string& message) {
    state_.service.metrics().observe_request("http", status, 0);
    Response res = error_response(status, message);
    res.keep_alive(false);
    write(std::move(res));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_error(ec);
    stream_.expires_never();
    state_.service.handle(parser_->release(), [self = shared_from_this()](Response res) {
      net::post(self->stream_.get_executor(),
                [self, res = std::make_shared<Response>(std::move(res))]() mutable {
                  self->write(std::move(*res));
                });
    });
  }

  void write(Response res) {
    if (state_.draining) res.keep_alive(false);
    auto msg = std::make_shared<Response>(std::move(res));
    stream_.expires_after(seconds(state_.options.read_timeout_seconds));
    http::async_write(stream_, *msg, [self = shared_from_this(), msg](beast::error_code ec, std::size_t) {
      if (ec || !msg->keep_alive()) return self->close();
      self->read_header();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  State& state_;
  bool busy_ = false;  // between a request's header and its response
};

class Listener {
 public:
  Listener(net::io_context& io, State& state, const tcp::endpoint& at)
      : io_(io), acceptor_(io), state_(state) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  void accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed on drain
      if (state_.open() >= state_.options.max_connections) {
        refuse(std::move(socket));
      } else {
        std::make_shared<Session>(std::move(socket), state_)->start();
      }
      accept();
    });
  }
  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  // Over max_connections: a short 503 and close, written at once (a fresh socket's buffer takes it).
  void refuse(tcp::socket socket) {
    state_.service.metrics().observe_request("http", 503, 0);
    Response res = error_response(503, "too many open connections (max_connections " +
                                           std::to_string(state_.options.max_connections) + ")");
    res.keep_alive(false);
    beast::error_code ignored;
    http::write(socket, res, ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  net::io_context& io_;
  tcp::acceptor acceptor_;
  State& state_;
};

}  // namespace

int serve(const ServeConfig& config, std::ostream& out) {
  Service service(config);
  const ServeOptions& o = config.options;
  State state(service, o);
  // Declared after the service and the state: handlers still queued when it is destroyed hold sessions,
  // which unregister from both.
  net::io_context io(o.io_threads);
  beast::error_code ec;
  const auto address = net::ip::make_address(o.host, ec);
  if (ec) throw ConfigError(config.file.string() + ": serve.host: '" + o.host + "' is not an IP address");
  std::optional<Listener> listener;
  try {
    listener.emplace(io, state, tcp::endpoint(address, static_cast<unsigned short>(o.port)));
  } catch (const boost::system::system_error& e) {
    // The system's reason alone ("Address already in use"), not Boost's source location.
    throw IoError("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + e.code().message());
  }
  listener->accept();

  // Drain: stop accepting, close idle connections, wait (bounded) until the busy ones are done.
  net::signal_set signals(io, SIGINT, SIGTERM);
  net::steady_timer poll(io);
  std::chrono::steady_clock::time_point drain_deadline;
  std::function<void()> wait_drained = [&] {
    if (state.open() == 0 || std::chrono::steady_clock::now() > drain_deadline) return io.stop();
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](beast::error_code) { wait_drained(); });
  };
  signals.async_wait([&](beast::error_code e, int) {
    if (e) return;
    state.draining = true;
    service.set_draining();
    listener->stop();
    std::vector<std::shared_ptr<Session>> open;
    {
      std::lock_guard lock(state.mutex);
      for (auto& [p, weak] : state.sessions)
        if (auto s = weak.lock()) open.push_back(std::move(s));
    }
    for (auto& s : open) s->close_if_idle();
    drain_deadline = std::chrono::steady_clock::now() + kMaxDrain;
    wait_drained();
  });

  const auto at = listener->endpoint();
  out << "listening on http://" << at.address().to_string() << ":" << at.port() << std::endl;
  std::vector<std::thread> threads;
  for (int i = 1; i < o.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  service.stop();  // while `io` exists: a batch finishing now posts its reply to it
  return 0;
}

}  // namespace visbone::serve
