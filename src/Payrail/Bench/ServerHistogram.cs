using System.Globalization;

namespace Payrail.Bench;

/// <summary>
/// The receiver's own <c>payrail.webhooks.duration</c> (verify-and-commit, outcome applied) as the API's management
/// listener exposes it: cumulative bucket counts by upper bound. Two readings subtracted give one run's distribution, to
/// bucket resolution; beside the client's latency it tells the server's share from the network's and the client's.
/// </summary>
public sealed record ServerHistogram(IReadOnlyList<(double UpperBoundSeconds, long Count)> Buckets)
{
    private const string BucketPrefix = "payrail_webhooks_duration";

    public long Count => Buckets.Count == 0 ? 0 : Buckets[^1].Count;

    /// <summary>The bucket bound (ms) at or below which <paramref name="percentile"/> % of the deliveries finished.</summary>
    public string UpperBoundMs(double percentile)
    {
        var wanted = (long)Math.Ceiling(Count * percentile / 100);
        var bucket = Buckets.FirstOrDefault(b => b.Count >= wanted);
        return double.IsPositiveInfinity(bucket.UpperBoundSeconds) ? "∞" : (bucket.UpperBoundSeconds * 1000).ToString("0.#", CultureInfo.InvariantCulture);
    }

    public ServerHistogram Minus(ServerHistogram earlier) => new([.. Buckets.Select(b =>
        (b.UpperBoundSeconds, b.Count - earlier.Buckets.Where(e => e.UpperBoundSeconds == b.UpperBoundSeconds).Sum(e => e.Count)))]);

    /// <summary>The histogram now, or null when the management listener does not answer (a remote API, another port).</summary>
    public static async Task<ServerHistogram?> ReadAsync(string managementUrl, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return Parse(await http.GetStringAsync(managementUrl.TrimEnd('/') + "/metrics", cancellationToken));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public static ServerHistogram Parse(string prometheusText)
    {
        var buckets = new SortedDictionary<double, long>();
        foreach (var line in prometheusText.Split('\n'))
        {
            if (!line.StartsWith(BucketPrefix, StringComparison.Ordinal) || !line.Contains("_bucket{", StringComparison.Ordinal)
                || !line.Contains("outcome=\"applied\"", StringComparison.Ordinal)) continue;
            var le = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
            var bound = line[le..line.IndexOf('"', le)];
            var upper = bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture);
            // "name{labels} value [timestamp]": the value is the first field after the labels.
            var count = long.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            buckets[upper] = buckets.GetValueOrDefault(upper) + count;
        }
        return new ServerHistogram([.. buckets.Select(b => (b.Key, b.Value))]);
    }
}
