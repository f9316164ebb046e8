using System.Net;
using System.Text.Json;
using Payrail.Testing;
using Stripe;
using Stripe.Reporting;
using Xunit;

namespace PspSim.Tests;

/// <summary>
/// The itemized balance report (balance_change_from_activity.itemized.3): a run is created pending, succeeds with a
/// file object, and the file's CSV holds one row per balance transaction of the interval, amounts in major units.
/// </summary>
public sealed class ReportRunTests(PspSimFixture fixture) : IClassFixture<PspSimFixture>
{
    private const string ReportType = "balance_change_from_activity.itemized.3";
    private readonly StripeClient _client = Sim.Client(fixture);

    private async Task<ReportRun> RunAsync(ReportRunParametersOptions parameters)
    {
        var runs = new ReportRunService(_client);
        var run = await runs.CreateAsync(new ReportRunCreateOptions { ReportType = ReportType, Parameters = parameters });
        Assert.Equal("reporting.report_run", run.Object);
        var id = run.Id;
        await Eventually.TrueAsync(async () => (run = await runs.GetAsync(id)).Status != "pending", TimeSpan.FromSeconds(20), "the report run renders");
        Assert.Equal("succeeded", run.Status);
        return run;
    }

    /// <summary>An interval end after what was just made that is already past: a report covers data up to now, not beyond.</summary>
    private static async Task<DateTime> IntervalEndAsync()
    {
        var end = DateTime.UtcNow.AddSeconds(1);
        await Eventually.TrueAsync(() => DateTime.UtcNow >= end, TimeSpan.FromSeconds(5), "the interval has ended");
        return end;
    }

    private async Task<(HttpResponseMessage Response, string[] Lines)> DownloadAsync(ReportRun run)
    {
        using var http = Sim.Raw(fixture);
        var response = await http.GetAsync(run.Result.Url);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_run_reports_each_balance_transaction_of_its_interval_in_major_units_with_its_payment_intent()
    {
        var from = DateTime.UtcNow.AddSeconds(-1);
        var jpy = Sim.Card(12_345);
        jpy.Currency = "jpy";
        var converted = await new PaymentIntentService(_client).CreateAsync(jpy);
        var plain = await new PaymentIntentService(_client).CreateAsync(Sim.Card(1_999));
        var refund = await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = plain.Id, Amount = 500 });
        var to = await IntervalEndAsync();

        var run = await RunAsync(new ReportRunParametersOptions
        {
            IntervalStart = from, IntervalEnd = to,
            Columns = ["balance_transaction_id", "currency", "gross", "fee", "net", "reporting_category", "source_id", "customer_facing_amount",
                "customer_facing_currency", "payment_intent_id"],
        });
        var (response, lines) = await DownloadAsync(run);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("file", run.Result.Object);
        Assert.Equal("finance_report_run", run.Result.Purpose);
        Assert.Equal(run.Result.Size, response.Content.Headers.ContentLength);
        Assert.Equal("balance_transaction_id,currency,gross,fee,net,reporting_category,source_id,customer_facing_amount,customer_facing_currency,payment_intent_id",
            lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToDictionary(r => r[6]);
        // ¥12,345 settles as $82.71 with a $2.70 fee (SettlementTests); the customer paid ¥12,345.
        Assert.Equal(["usd", "82.71", "2.70", "80.01", "charge", converted.LatestChargeId, "12345", "jpy", converted.Id],
            rows[converted.LatestChargeId][1..]);
        Assert.Equal(["usd", "19.99", "0.88", "19.11", "charge", plain.LatestChargeId, "19.99", "usd", plain.Id], rows[plain.LatestChargeId][1..]);
        Assert.Equal(["usd", "-5.00", "0.00", "-5.00", "refund", refund.Id, "5.00", "usd", plain.Id], rows[refund.Id][1..]);
    }

    [Fact]
    public async Task A_run_without_columns_has_the_default_columns_and_a_category_filter_keeps_its_rows_only()
    {
        var from = DateTime.UtcNow.AddSeconds(-1);
        var plain = await new PaymentIntentService(_client).CreateAsync(Sim.Card(2_500));
        await new RefundService(_client).CreateAsync(new RefundCreateOptions { PaymentIntent = plain.Id, Amount = 100 });
        var to = await IntervalEndAsync();

        var run = await RunAsync(new ReportRunParametersOptions { IntervalStart = from, IntervalEnd = to, ReportingCategory = "refund" });
        var (_, lines) = await DownloadAsync(run);

        var type = await new ReportTypeService(_client).GetAsync(ReportType);
        Assert.Equal(string.Join(',', type.DefaultColumns), lines[0]);
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.All(rows, r => Assert.Equal("refund", r[Array.IndexOf(header, "reporting_category")]));
        var row = Assert.Single(rows, r => r[Array.IndexOf(header, "payment_intent_id")] == plain.Id);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", row[Array.IndexOf(header, "created_utc")]);
    }

    [Fact]
    public async Task A_truncated_body_fault_sends_the_whole_lines_of_half_the_file_under_a_length_that_says_so()
    {
        var run = await RunAsync(new ReportRunParametersOptions { IntervalStart = DateTime.UtcNow.AddHours(-1), IntervalEnd = DateTime.UtcNow });
        using var http = Sim.Raw(fixture);
        var whole = await http.GetStringAsync(run.Result.Url);
        await fixture.AddFaultAsync("truncated_body", count: 1, pathPrefix: "/v1/files/", method: "GET");

        var response = await http.GetAsync(run.Result.Url);
        var cut = await response.Content.ReadAsStringAsync();

        Assert.Equal(cut.Length, response.Content.Headers.ContentLength);
        Assert.InRange(cut.Length, 0, run.Result.Size / 2);
        Assert.StartsWith(cut, whole, StringComparison.Ordinal);
        Assert.True(cut.Length == 0 || cut.EndsWith('\n'), "whole lines only");
    }

    [Theory]
    [InlineData("report_type=balance.summary.1&parameters[interval_start]=1&parameters[interval_end]=2", "report_type")]
    [InlineData("report_type=" + ReportType + "&parameters[interval_end]=2", "parameters[interval_start]")]
    [InlineData("report_type=" + ReportType + "&parameters[interval_start]=5&parameters[interval_end]=5", "parameters[interval_start]")]
    [InlineData("report_type=" + ReportType + "&parameters[interval_start]=1&parameters[interval_end]=99999999999", "parameters[interval_end]")]
    [InlineData("report_type=" + ReportType + "&parameters[interval_start]=1&parameters[interval_end]=2&parameters[columns][0]=status", "parameters[columns]")]
    [InlineData("report_type=" + ReportType + "&parameters[interval_start]=1&parameters[interval_end]=2&parameters[timezone]=UTC", "parameters[timezone]")]
    public async Task A_run_stripe_would_refuse_is_refused_with_the_parameter_named(string form, string param)
    {
        using var http = Sim.Raw(fixture);
        var response = await http.PostAsync("/v1/reporting/report_runs", new StringContent(form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_file_no_run_made_is_resource_missing()
    {
        using var http = Sim.Raw(fixture);
        var response = await http.GetAsync("/v1/files/file_nothing/contents");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
