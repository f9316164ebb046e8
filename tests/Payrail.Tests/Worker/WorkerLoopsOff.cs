namespace Payrail.Tests.Worker;

/// <summary>
/// Settings that switch off the worker's loops a test does not exercise: each has tests of its own, and here the relay
/// and the consumers would reach for a broker on the default port, the sweeper, the settlement and the reconciliation for a PSP.
/// </summary>
public static class WorkerLoopsOff
{
    public const string Relay = "relay";
    public const string Sweeper = "sweeper";
    public const string Consumers = "consumers";
    public const string Settlement = "settlement";
    public const string Reconciliation = "reconciliation";

    private static readonly string[] ConsumerNames = ["Notifications", "Fraud", "Accounting", "Analytics", "Loyalty", "MerchantDashboard"];

    /// <summary>Every loop off but <paramref name="kept"/> (none: all off).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> AllBut(string? kept = null)
    {
        if (kept != Relay) yield return new("Relay:Enabled", "false");
        if (kept != Sweeper) yield return new("Sweeper:Enabled", "false");
        if (kept != Settlement) yield return new("Settlement:Enabled", "false");
        if (kept != Reconciliation) yield return new("Reconciliation:Enabled", "false");
        if (kept == Consumers) yield break;
        foreach (var name in ConsumerNames) yield return new($"Consumers:Enabled:{name}", "false");
    }
}
