using Payrail.DevEnvironment;
using StackExchange.Redis;

namespace Payrail.Hosting;

/// <summary>
/// Section <c>Redis</c>: the cache in front of PostgreSQL (idempotency answers; the gateway's rate limits later).
/// Redis is never the truth, so a role runs on when it is down; it must still be configured where the role uses it.
/// </summary>
public sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>
    /// A StackExchange.Redis configuration string, e.g. <c>redis.internal:6379,password=...,ssl=true</c>. Empty: the
    /// project-local server that `payrail up` set up (<see cref="LocalPort"/>, password from `.payrail/secrets/`).
    /// </summary>
    public string Configuration { get; set; } = "";

    /// <summary>Port of the project-local server under `.payrail/redis` (DESIGN.md: 6380).</summary>
    public int LocalPort { get; set; } = 6380;

    public IEnumerable<string> Problems()
    {
        if (LocalPort is < 1 or > 65_535) yield return "Redis:LocalPort must be within [1, 65535]";
        if (string.IsNullOrWhiteSpace(Configuration)) yield break;
        string? refusal = null;
        try
        {
            if (ConfigurationOptions.Parse(Configuration).EndPoints.Count == 0) refusal = "Redis:Configuration names no host:port";
        }
        catch (ArgumentException e)
        {
            // The parser's reason names the option, not its value (a password may be in the string).
            refusal = $"Redis:Configuration is not a valid StackExchange.Redis configuration ({e.GetType().Name}: {FirstLine(e.Message)})";
        }
        if (refusal is not null) yield return refusal;
    }

    /// <summary>The configured string, else the local server's (refused when `payrail up` never set one up).</summary>
    public string ResolveConfiguration(IConfiguration configuration, DevSecrets secrets)
    {
        if (!string.IsNullOrWhiteSpace(Configuration)) return Configuration;
        if (secrets.TryRead(LocalServers.RedisPasswordSecret) is null)
            throw new InvalidSettingsException(
                "Redis:Configuration is empty and no local Redis exists (`./payrail up` sets one up): set it " +
                "(PAYRAIL__Redis__Configuration) to host:port[,password=...]");
        return LocalServers.Redis(configuration, secrets).Configuration;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
