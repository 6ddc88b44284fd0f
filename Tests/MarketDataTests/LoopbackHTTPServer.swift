import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A scripted HTTP/1.1 server on 127.0.0.1 for tests: answers each request with the next
/// scripted action and records what it received. Never touches the internet.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// What to do with one incoming request.
    enum Action: Sendable {
        /// Answer with this status, extra headers and body, then close the connection.
        case respond(status: Int, headers: [String: String] = [:], body: Data = Data())
        /// Answer without a Content-Length: the body ends when the connection closes (as a streamed answer would).
        case stream(status: Int, headers: [String: String] = [:], body: Data)
        /// Close the connection without answering.
        case drop
        /// Keep the connection open without answering until the server stops (provokes client timeouts).
        case hang
    }

    /// One request as received.
    struct Request: Sendable {
        var method: String
        /// The path without the query.
        var path: String
        /// Query items in order, percent-decoded.
        var query: [String: String]
        /// Header names lowercased.
        var headers: [String: String]
    }

    /// The OS-assigned port.
    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var script: [Action]
    /// Answers each request from what it asks (and its 0-based index) instead of the script.
    private let responder: (@Sendable (Request, Int) -> Action)?
    private var received: [Request] = []
    private var sent = 0
    private var held: [Int32] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Starts listening; requests beyond the script get HTTP 500.
    init(script: [Action] = [], responder: (@Sendable (Request, Int) -> Action)? = nil) throws {
        self.script = script
        self.responder = responder
        let fd = socket(AF_INET, Self.streamType, 0)
        guard fd >= 0 else { throw ServerError.system("socket", errno) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw ServerError.system("bind/listen", code)
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// The base URL clients should use.
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Requests received so far, in order.
    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Body bytes the client accepted so far (what the socket took; a client that hangs up early gets less).
    var bodyBytesSent: Int {
        lock.lock()
        defer { lock.unlock() }
        return sent
    }

    /// Stops accepting, closes held connections and waits for the server thread to end; call it once done.
    func stop() {
        lock.lock()
        let alreadyStopping = stopping
        stopping = true
        lock.unlock()
        guard !alreadyStopping else { return }
        finished.wait()
    }

    /// A port on 127.0.0.1 that nothing listens on (bound, then released).
    static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, streamType, 0)
        guard fd >= 0 else { throw ServerError.system("socket", errno) }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard result == 0 else { throw ServerError.system("bind", errno) }
        return UInt16(bigEndian: address.sin_port)
    }

    enum ServerError: Error {
        case system(String, Int32)
    }

    // MARK: - Serving

    #if canImport(Glibc)
    private static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    private static let streamType = SOCK_STREAM
    #endif

    #if canImport(Glibc)
    // A client that hangs up early must not kill the test process with SIGPIPE.
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let sendFlags: Int32 = 0
    #endif

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func serve() {
        // Poll with a short timeout so `stop()` is noticed without closing the socket under accept().
        while !isStopping {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            handle(connection)
        }
        lock.lock()
        let toClose = held
        held.removeAll()
        lock.unlock()
        toClose.forEach { close($0) }
        close(listener)
        finished.signal()
    }

    private func handle(_ connection: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readRequest(connection) else {
            close(connection)
            return
        }
        lock.lock()
        received.append(request)
        let action = responder.map { $0(request, received.count - 1) }
            ?? (script.isEmpty ? Action.respond(status: 500, body: Data("script exhausted".utf8)) : script.removeFirst())
        lock.unlock()

        switch action {
        case .respond(let status, let headers, let body), .stream(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
            if case .respond = action { head += "Content-Length: \(body.count)\r\n" }
            head += "Connection: close\r\n"
            if headers.keys.contains(where: { $0.lowercased() == "content-type" }) == false {
                head += "Content-Type: application/json\r\n"
            }
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            writeAll(connection, Data(head.utf8))
            let accepted = writeAll(connection, body)
            lock.lock()
            sent += accepted
            lock.unlock()
            shutdown(connection, Int32(SHUT_WR))
            close(connection)
        case .drop:
            close(connection)
        case .hang:
            lock.lock()
            held.append(connection)
            lock.unlock()
        }
    }

    private func readRequest(_ connection: Int32) -> Request? {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let terminator: [UInt8] = [13, 10, 13, 10]
        while true {
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            // GET requests have no body, so the header block is the whole request.
            if buffer.count >= 4, let end = firstRange(of: terminator, in: buffer) {
                return parse(Array(buffer[0..<end]))
            }
            if buffer.count > 65_536 { return nil }
        }
    }

    private func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<start + needle.count]) == needle {
            return start
        }
        return nil
    }

    private func parse(_ head: [UInt8]) -> Request? {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let components = URLComponents(string: String(parts[1])) else { return nil }
        var headers = [String: String]()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var query = [String: String]()
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        return Request(method: String(parts[0]), path: components.path, query: query, headers: headers)
    }

    /// Sends until done or the client hangs up; returns the bytes the socket took.
    @discardableResult
    private func writeAll(_ connection: Int32, _ data: Data) -> Int {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = send(connection, raw.baseAddress! + offset, min(raw.count - offset, 1 << 16), Self.sendFlags)
                guard written > 0 else { return offset }
                offset += written
            }
            return offset
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}
