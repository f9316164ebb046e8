namespace Payrail.Hosting;

/// <summary>
/// Section <c>Kafka</c>: the brokers that the outbox relay produces to and the consumers read from (devkafka locally,
/// Apache Kafka in production). Checked at start by every role, so a typo is found before the first event waits.
/// </summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Kafka";

    /// <summary>Comma-separated <c>host:port</c> list of bootstrap brokers (DESIGN.md: devkafka on 127.0.0.1:9092).</summary>
    public string BootstrapServers { get; set; } = "127.0.0.1:9092";

    /// <summary>Bounds the list: a bootstrap list names a few brokers, never the whole cluster.</summary>
    public const int MaxBootstrapServers = 16;

    public IEnumerable<string> Problems()
    {
        var servers = (BootstrapServers ?? "").Split(',', StringSplitOptions.TrimEntries);
        if (servers.Length > MaxBootstrapServers)
            yield return $"Kafka:BootstrapServers names more than {MaxBootstrapServers} brokers";
        else if (servers.Any(s => !IsHostAndPort(s)))
            yield return "Kafka:BootstrapServers must be a comma-separated list of host:port (port 1-65535)";
    }

    private static bool IsHostAndPort(string server)
    {
        var colon = server.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), System.Globalization.NumberStyles.None, null, out var port)) return false;
        var host = server[..colon].Trim('[', ']');
        return port is >= 1 and <= 65_535 && Uri.CheckHostName(host) != UriHostNameType.Unknown;
    }
}
