import Metainfo

/// Announces to and scrapes one HTTP tracker.
public struct TrackerClient: Sendable {
    public var http: HTTPGetClient

    public init(http: HTTPGetClient = HTTPGetClient()) {
        self.http = http
    }

    public func announce(_ request: AnnounceRequest, to url: TrackerURL) async throws(TrackerClientError) -> AnnounceResponse {
        let (status, body) = try await http.get(host: url.host, port: url.port, target: url.target(adding: request.query.encoded))
        do throws(TrackerClientError) {
            let response = try AnnounceResponse(bencoded: body)
            guard status == 200 else { throw .httpStatus(status) }
            return response
        } catch {
            // Some trackers send their bencoded failure with an error status.
            if case .refused = error { throw error }
            throw status == 200 ? error : .httpStatus(status)
        }
    }

    public func scrape(_ infoHash: InfoHash, at url: TrackerURL) async throws(TrackerClientError) -> ScrapeResponse {
        guard let scrapeURL = url.scrapeURL else { throw .unsupportedURL(url.description, "tracker has no scrape URL") }
        var query = QueryParameters()
        query.append("info_hash", infoHash.bytes)
        let (status, body) = try await http.get(host: scrapeURL.host, port: scrapeURL.port, target: scrapeURL.target(adding: query.encoded))
        guard status == 200 else { throw .httpStatus(status) }
        return try ScrapeResponse(bencoded: body, infoHash: infoHash)
    }
}
