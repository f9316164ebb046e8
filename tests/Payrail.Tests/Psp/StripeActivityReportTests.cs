using Payrail.Psp;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>pspsim whose balance reports end a minute behind now, as Stripe's end hours behind.</summary>
public sealed class LaggingReportFixture : IAsyncLifetime
{
    public const int LagSeconds = 60;

    public PspSimFixture PspSim { get; } = new();

    public LaggingReportFixture() => PspSim.ExtraArgs.Add($"--PspSim:ReportDataLagSeconds={LagSeconds}");

    public Task InitializeAsync() => PspSim.InitializeAsync();

    public Task DisposeAsync() => PspSim.DisposeAsync();
}

/// <summary>
/// The connector reads what Stripe's itemized balance report covers from the report and the rest, a recent tail, from
/// the balance transaction listing: both must read a line to the same values, a converted charge and a refund included.
/// </summary>
public sealed class StripeActivityReportTests(LaggingReportFixture fixture) : IClassFixture<LaggingReportFixture>, IDisposable
{
    private readonly StripeConnectorHost host = new(fixture.PspSim.BaseUrl, fixture.PspSim.ApiKey);

    public void Dispose() => host.Dispose();

    private async Task<List<PspSettlementLine>> LinesAsync(DateTimeOffset from, DateTimeOffset to, params string[] references)
    {
        var lines = new List<PspSettlementLine>();
        await foreach (var line in host.Connector.ListSettlementLinesAsync(from, to, CancellationToken.None))
            if (references.Contains(line.PspReference)) lines.Add(line);
        return [.. lines.OrderBy(l => l.Id, StringComparer.Ordinal)];
    }

    private static object Values(PspSettlementLine l) =>
        (l.Id, l.Type, l.PspReference, l.SourceId, l.AmountMinor, l.FeeMinor, l.NetMinor, l.CurrencyCode, l.Status, l.CreatedAt, l.AvailableOn,
            l.ReportingCategory, l.SourceAmountMinor, l.SourceCurrencyCode);

    [Fact]
    public async Task A_line_reads_the_same_from_the_listing_while_the_report_lags_and_from_the_report_once_it_covers_it()
    {
        var jpy = StripeConnectorHost.Request(amountMinor: 12_345, currency: "JPY");
        var converted = await host.Connector.AuthorizeAsync(jpy, CancellationToken.None);
        var usd = StripeConnectorHost.Request(amountMinor: 1_999, currency: "USD");
        var plain = await host.Connector.AuthorizeAsync(usd, CancellationToken.None);
        await host.Connector.RefundAsync(new PspRefundRequest($"{usd.IdempotencyKey}:refund", plain.PspReference, 500, "USD", null,
            new Dictionary<string, string>()), CancellationToken.None);
        // The window starts inside the lag: no part of it is reported until the clock moves on.
        var (from, to) = (converted.CreatedAt.AddSeconds(-LaggingReportFixture.LagSeconds / 2), converted.CreatedAt.AddHours(1));

        // A report run would fail: the first reading must not make one (its lines are all in the tail the report lags).
        await fixture.PspSim.AddFaultAsync("http_500", count: 1, pathPrefix: "/v1/reporting/report_runs", method: "POST");
        var listed = await LinesAsync(from, to, converted.PspReference, plain.PspReference);
        await fixture.PspSim.AdvanceClockAsync(TimeSpan.FromSeconds(2 * LaggingReportFixture.LagSeconds));
        // Now the report covers them: this reading makes a run, and the fault fails it.
        await Assert.ThrowsAsync<PspUnavailableException>(() => LinesAsync(from, to, converted.PspReference, plain.PspReference));
        var reported = await LinesAsync(from, to, converted.PspReference, plain.PspReference);

        Assert.Equal(["charge", "charge", "refund"], listed.Select(l => l.Type).Order());
        Assert.Equal(listed.Select(Values), reported.Select(Values));
        var charge = Assert.Single(reported, l => l.PspReference == converted.PspReference);
        Assert.Equal(("USD", 8_271L, 270L, 12_345L, "JPY"), (charge.CurrencyCode, charge.AmountMinor, charge.FeeMinor, charge.SourceAmountMinor, charge.SourceCurrencyCode));
    }

    [Fact]
    public async Task A_report_file_shorter_than_its_file_object_says_fails_the_listing_even_when_it_ends_in_whole_lines()
    {
        var first = await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(amountMinor: 1_000, currency: "USD"), CancellationToken.None);
        for (var i = 0; i < 5; i++)
            await host.Connector.AuthorizeAsync(StripeConnectorHost.Request(amountMinor: 1_000 + i, currency: "USD"), CancellationToken.None);
        await fixture.PspSim.AdvanceClockAsync(TimeSpan.FromSeconds(2 * LaggingReportFixture.LagSeconds));
        // pspsim sends the whole lines of the file's first half: a header and rows that all read, fewer than there are.
        await fixture.PspSim.AddFaultAsync("truncated_body", count: 1, pathPrefix: "/v1/files/", method: "GET");

        var refused = await Assert.ThrowsAsync<PspUnavailableException>(() => LinesAsync(first.CreatedAt, first.CreatedAt.AddHours(1), first.PspReference));

        Assert.Contains("bytes its file object says", refused.Message, StringComparison.Ordinal);
    }
}
