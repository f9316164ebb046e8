using Npgsql;
using Payrail.DevEnvironment;

namespace Payrail.Hosting;

/// <summary>
/// Section <c>Postgres</c>: where the database is and how large each role's connection pool may grow. Each role has
/// its own pool (<see cref="PostgresPool"/>): the API's skips the session reset, which is wrong for a role that will
/// LISTEN or take advisory locks.
/// </summary>
public sealed class PostgresOptions
{
    public const string SectionName = "Postgres";

    /// <summary>
    /// An Npgsql connection string (Host, Port, Database, Username, Password). Empty: the project-local cluster that
    /// `payrail up` created (<see cref="LocalPort"/>, password from `.payrail/secrets/`). Pool keywords in it
    /// (Maximum/Minimum Pool Size) are overridden by the role's <see cref="Api"/> / <see cref="Worker"/> settings.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Port of the project-local cluster under `.payrail/pg` (DESIGN.md: 5433).</summary>
    public int LocalPort { get; set; } = 5433;

    /// <summary>
    /// The payment service's pool, per API instance. The payment path holds a connection for one statement batch (a
    /// few milliseconds), so 10 connections carry thousands of transactions a second; a request beyond them waits in
    /// the pool, not in PostgreSQL. Npgsql's own default (100) let a loaded API open about 70 connections to a 2-core
    /// server and raised PostgreSQL's CPU per payment 1.4–2 times (README, "The API's connection pool").
    /// </summary>
    public PostgresPoolOptions Api { get; set; } = new() { MaxPoolSize = 10 };

    /// <summary>
    /// The worker's pool: a handful of background loops, each holding one connection at a time (plus a LISTEN
    /// connection and advisory locks later), so a small pool suffices and leaves connections for the API.
    /// </summary>
    public PostgresPoolOptions Worker { get; set; } = new() { MaxPoolSize = 10 };

    /// <summary>
    /// The dashboard's pool: page reads and each live stream's short log reads (a stream holds no connection while it
    /// waits), plus one LISTEN connection.
    /// </summary>
    public PostgresPoolOptions Dashboard { get; set; } = new() { MaxPoolSize = 20 };

    public IEnumerable<string> Problems()
    {
        if (LocalPort is < 1 or > 65_535) yield return "Postgres:LocalPort must be within [1, 65535]";
        foreach (var problem in Api.Problems("Postgres:Api")) yield return problem;
        foreach (var problem in Worker.Problems("Postgres:Worker")) yield return problem;
        foreach (var problem in Dashboard.Problems("Postgres:Dashboard")) yield return problem;
        if (string.IsNullOrWhiteSpace(ConnectionString)) yield break;
        NpgsqlConnectionStringBuilder parsed;
        string? refusal = null;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // The parser's reason names a keyword or a position, never the password.
            parsed = new NpgsqlConnectionStringBuilder();
            refusal = $"Postgres:ConnectionString is not a valid Npgsql connection string ({e.Message})";
        }
        if (refusal is not null) yield return refusal;
        else if (string.IsNullOrWhiteSpace(parsed.Host)) yield return "Postgres:ConnectionString names no Host";
    }

    /// <summary>The configured connection string, else the local cluster's (refused when `payrail up` never created it).</summary>
    public string ResolveConnectionString(IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(ConnectionString)) return ConnectionString;
        try
        {
            return LocalServers.PostgresConnectionString(configuration);
        }
        catch (InvalidOperationException)
        {
            throw new InvalidSettingsException(
                "Postgres:ConnectionString is empty and no local cluster exists (`./payrail up` creates one): set it " +
                "(PAYRAIL__Postgres__ConnectionString) to the database's Npgsql connection string");
        }
    }
}

/// <summary>One role's pool bounds (<c>Postgres:Api</c>, <c>Postgres:Worker</c>).</summary>
public sealed class PostgresPoolOptions
{
    /// <summary>Most connections this role's process opens; a caller waits (up to the connection timeout) beyond it.</summary>
    public int MaxPoolSize { get; set; } = 10;

    /// <summary>Connections kept open when idle.</summary>
    public int MinPoolSize { get; set; }

    public IEnumerable<string> Problems(string section)
    {
        if (MaxPoolSize is < 1 or > 1_000) yield return $"{section}:MaxPoolSize must be within [1, 1000]";
        if (MinPoolSize < 0 || MinPoolSize > MaxPoolSize) yield return $"{section}:MinPoolSize must be within [0, MaxPoolSize]";
    }
}
