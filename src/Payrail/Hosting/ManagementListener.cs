namespace Payrail.Hosting;

/// <summary>
/// A role's management listener (<c>Api:ManagementUrls</c>, <c>Worker:ManagementUrls</c>; loopback by default):
/// Prometheus metrics and health details. Payment counts by status are business data and the state of PostgreSQL and
/// Redis helps an attacker time an outage, so neither is served on a public listener (<c>Api:Urls</c>). A request
/// belongs to this listener by the port it arrived on, never by its Host header, which the client chooses.
/// </summary>
public sealed record ManagementListener(string Urls, IReadOnlySet<int> Ports)
{
    /// <summary>The API's: loopback only, a scraper on the same host or behind an operator's own tunnel. 9081 is free in DESIGN.md's table.</summary>
    public const string DefaultUrls = "http://127.0.0.1:9081";

    public bool Serves(HttpContext http) => Ports.Contains(http.Connection.LocalPort);

    /// <summary>The API's listener: reads <c>Api:ManagementUrls</c> beside the public <paramref name="publicUrls"/>.</summary>
    public static ManagementListener From(IConfiguration configuration, string publicUrls) =>
        From(configuration, "Api", DefaultUrls, publicUrls);

    /// <summary>
    /// Reads <c>{section}:ManagementUrls</c>; each needs a fixed port (one no public URL uses) so requests can be told
    /// apart. A role without a public listener passes <paramref name="publicUrls"/> = null.
    /// </summary>
    public static ManagementListener From(IConfiguration configuration, string section, string defaultUrls, string? publicUrls)
    {
        var setting = $"{section}:ManagementUrls";
        var urls = configuration[setting] is { Length: > 0 } configured ? configured : defaultUrls;
        var ports = PortsOf(urls, setting);
        if (publicUrls is not null && ports.Overlaps(PortsOf(publicUrls, $"{section}:Urls")))
            throw new InvalidSettingsException($"{setting} must use ports that {section}:Urls does not use.");
        return new ManagementListener(urls, ports);
    }

    private static HashSet<int> PortsOf(string urls, string setting)
    {
        var ports = new HashSet<int>();
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryParsePort(url, out var port))
                throw new InvalidSettingsException($"{setting} needs http(s) URLs with a fixed port 1-65535.");
            ports.Add(port);
        }
        if (ports.Count == 0) throw new InvalidSettingsException($"{setting} needs at least one URL.");
        return ports;
    }

    private static bool TryParsePort(string url, out int port)
    {
        port = 0;
        try
        {
            var address = BindingAddress.Parse(url);
            if (address.IsUnixPipe || address.Port is < 1 or > 65_535) return false;
            port = address.Port;
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
