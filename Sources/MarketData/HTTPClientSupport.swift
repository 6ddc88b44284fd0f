import Foundation

/// What the HTTP clients (CoinGecko, Binance) share: reading their base URL from the environment and wording
/// libcurl's failures.
enum HTTPClientSupport {
    /// `env[key]` as an http(s) URL with a host; nil when unset, blank or anything else (the default applies).
    static func baseURL(_ env: [String: String], _ key: String) -> URL? {
        guard let raw = env[key]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty,
              let url = URL(string: raw), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil else { return nil }
        return url
    }

    /// libcurl's failure in the words the shell uses.
    static func describe(curlCode code: Int32, words: String, timeout: TimeInterval) -> String {
        switch code {
        case 28:
            let shown = timeout < 1e9 ? String(Int(timeout)) : String(timeout)
            return "no answer within \(shown) s"
        case 7: return "connection refused"
        case 6: return "cannot resolve the host name"
        case 5: return "cannot resolve the proxy"
        case 18, 52, 55, 56: return "the connection was lost"
        case 35, 58, 59, 60, 77, 83, 90, 91: return "the TLS connection failed"
        case 1, 8, 61: return "the server's answer was unreadable"
        default: return words.isEmpty ? "transfer failed (libcurl error \(code))" : words
        }
    }
}
