import MarketData
import Testing

/// The `MarketDataError` that `body` throws; nil (and a recorded issue for any other error) when it throws none.
func marketDataError(_ body: () throws -> Void) -> MarketDataError? {
    do {
        try body()
        return nil
    } catch let error as MarketDataError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
