using System.Runtime.CompilerServices;
using Stripe;
using Stripe.Reporting;

namespace Payrail.Psp.Stripe;

/// <summary>
/// Stripe's itemized balance report (docs.stripe.com/reports/api): a report run is created, polled until Stripe has
/// rendered it, and its CSV file is streamed through <see cref="ActivityReportCsv"/>, all within
/// <see cref="StripeConnectorOptions.ReportTimeoutMs"/>. Reading a million balance transactions this way costs a
/// fraction of 10,000 expanded JSON pages at both ends (measured in `payrail bench reconcile`; see the README).
/// </summary>
public sealed partial class StripeConnector
{
    private const string ActivityReportType = "balance_change_from_activity.itemized.3";
    // Polls come a quarter of the time waited so far apart, within [50 ms, 5 s]: a report ready waits at most a
    // quarter of its rendering time more (or 5 s), and one Stripe renders in a minute costs about 30 polls.
    private static readonly TimeSpan MinPollDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxPollDelay = TimeSpan.FromSeconds(5);
    private const int ReportReadBytes = 1 << 20;

    private readonly HttpClient files;
    private readonly ReportRunService reportRuns;
    private readonly ReportTypeService reportTypes;

    /// <summary>
    /// Where the report's data ends within [from, to): the report type's data_available_end, or <paramref name="from"/>
    /// when the report covers none of it (then the window is listed instead).
    /// </summary>
    private async Task<DateTimeOffset> ReportCoveredUntilAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var type = await SendAsync("report_type", ActivityReportType, cancellationToken,
            () => reportTypes.GetAsync(ActivityReportType, options: null, requestOptions: null, cancellationToken));
        var start = new DateTimeOffset(DateTime.SpecifyKind(type.DataAvailableStart, DateTimeKind.Utc));
        var end = new DateTimeOffset(DateTime.SpecifyKind(type.DataAvailableEnd, DateTimeKind.Utc));
        if (from < start || end <= from) return from;
        // Whole seconds: report intervals are Unix timestamps.
        var covered = end < to ? end : to;
        return DateTimeOffset.FromUnixTimeSeconds(covered.ToUnixTimeSeconds());
    }

    /// <summary>The report's lines of [from, to), refunds and refund failures left out (they are listed, with their status).</summary>
    private async IAsyncEnumerable<PspSettlementLine> ReadActivityReportAsync(DateTimeOffset from, DateTimeOffset to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ReportTimeoutMs);
        var run = await RunReportAsync(from, to, cancellationToken, deadline.Token);
        using var download = await OpenReportAsync(run, cancellationToken, deadline.Token);
        var lines = new List<PspSettlementLine>(1_024);
        while (await download.ReadAsync(lines, cancellationToken, deadline.Token))
        {
            foreach (var line in lines)
                if (line.Type is not ("refund" or "refund_failure")) yield return line;
            lines.Clear();
        }
    }

    /// <summary>Creates the run and polls it until it is no longer pending; refused unless it succeeded with a file.</summary>
    private async Task<ReportRun> RunReportAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken caller, CancellationToken deadline)
    {
        var create = new ReportRunCreateOptions
        {
            ReportType = ActivityReportType,
            Parameters = new ReportRunParametersOptions
            {
                IntervalStart = from.UtcDateTime,
                IntervalEnd = to.UtcDateTime,
                Columns = [.. ActivityReportCsv.Columns],
            },
        };
        // A key of its own: a transport retry of the create cannot start a second run.
        var run = await SendAsync("report_run", ActivityReportType, caller,
            () => reportRuns.CreateAsync(create, Keyed("report-run-" + Guid.NewGuid().ToString("N")), deadline));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (run.Status == "pending")
        {
            var delay = TimeSpan.FromTicks(Math.Clamp(waited.Elapsed.Ticks / 4, MinPollDelay.Ticks, MaxPollDelay.Ticks));
            await ReportStepAsync(run.Id, caller, () => Task.Delay(delay, deadline));
            var id = run.Id;
            run = await SendAsync("report_run", id, caller, () => reportRuns.GetAsync(id, options: null, requestOptions: null, deadline));
        }
        if (run.Status != "succeeded" || run.Result is null)
            throw new PspUnavailableException($"Stripe report run {run.Id} ended {run.Status}: {run.Error ?? "no file"}; the activity is unknown.");
        if (run.Result.Size < 0 || run.Result.Size > options.MaxReportBytes)
            throw new PspUnavailableException($"Stripe report run {run.Id}: a file of {run.Result.Size} bytes (Stripe:MaxReportBytes is {options.MaxReportBytes}).");
        return run;
    }

    /// <summary>
    /// The file's contents, streamed. The API key goes only to the API's origin or <see cref="StripeConnectorOptions.FilesBaseUrl"/>'s:
    /// a result naming another host is refused, never followed.
    /// </summary>
    private async Task<ReportDownload> OpenReportAsync(ReportRun run, CancellationToken caller, CancellationToken deadline)
    {
        var file = run.Result;
        if (!Uri.TryCreate(file.Url, UriKind.Absolute, out var url) || !MaySendKeyTo(url, options))
            throw new PspUnavailableException($"Stripe report file {file.Id}: its url is not on the API's or the files host; not fetched.");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", options.ApiKey);
        HttpResponseMessage? response = null;
        await ReportStepAsync(file.Id, caller, async () => response = await files.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline));
        try
        {
            if (!response!.IsSuccessStatusCode)
            {
                throw new PspUnavailableException($"Stripe report file {file.Id}: HTTP {(int)response.StatusCode}; the activity is unknown.")
                    { ServerError = (int)response.StatusCode >= 500 };
            }
            Stream? body = null;
            await ReportStepAsync(file.Id, caller, async () => body = await response.Content.ReadAsStreamAsync(deadline));
            // A line's status (available or pending) as the PSP saw it when the report was made: by the PSP's clock, not ours.
            var madeAt = new DateTimeOffset(DateTime.SpecifyKind(run.SucceededAt ?? run.Created, DateTimeKind.Utc));
            return new ReportDownload(this, file, response, body!, new ActivityReportCsv(madeAt));
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="url"/> is on the API's origin or the files host's: the only places the API key goes.</summary>
    internal static bool MaySendKeyTo(Uri url, StripeConnectorOptions options) => SameOrigin(url, options.BaseUrl) || SameOrigin(url, options.FilesBaseUrl);

    private static bool SameOrigin(Uri url, string baseUrl) =>
        Uri.TryCreate(baseUrl, UriKind.Absolute, out var origin)
        && url.Scheme == origin.Scheme && string.Equals(url.Host, origin.Host, StringComparison.OrdinalIgnoreCase) && url.Port == origin.Port;

    /// <summary>One step of a report under its deadline: a transport failure or the deadline passing is "the activity is unknown".</summary>
    private async Task ReportStepAsync(string reference, CancellationToken caller, Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !caller.IsCancellationRequested))
        {
            logger.LogWarning("Stripe report {Reference}: {Failure}", reference, e.GetType().Name);
            throw new PspUnavailableException(e is OperationCanceledException
                ? $"Stripe report {reference}: not read within Stripe:ReportTimeoutMs ({options.ReportTimeoutMs} ms)."
                : $"Stripe report {reference}: the download failed ({e.GetType().Name}).", e);
        }
    }

    /// <summary>A report file being read: a buffer of it at a time, its size checked against the file object's at the end.</summary>
    private sealed class ReportDownload(StripeConnector connector, global::Stripe.File file, HttpResponseMessage response, Stream body,
        ActivityReportCsv csv) : IDisposable
    {
        private readonly byte[] _buffer = new byte[ReportReadBytes];
        private int _held;
        private long _bytes;
        private bool _done;

        /// <summary>Reads the next lines into <paramref name="lines"/>; false at the end of the file.</summary>
        public async Task<bool> ReadAsync(List<PspSettlementLine> lines, CancellationToken caller, CancellationToken deadline)
        {
            while (lines.Count == 0 && !_done)
            {
                var n = 0;
                await connector.ReportStepAsync(file.Id, caller, async () => n = await body.ReadAsync(_buffer.AsMemory(_held), deadline));
                _bytes += n;
                if (_bytes > file.Size) throw Short($"more than the {file.Size} bytes its file object says");
                _held += n;
                _done = n == 0;
                if (_done && _bytes != file.Size) throw Short($"{_bytes} of the {file.Size} bytes its file object says");
                var consumed = csv.Read(_buffer.AsSpan(0, _held), final: _done, lines);
                _buffer.AsSpan(consumed, _held - consumed).CopyTo(_buffer);
                _held -= consumed;
            }
            return lines.Count > 0;
        }

        private PspUnavailableException Short(string what) => new($"Stripe report file {file.Id}: {what}; the activity is unknown.");

        public void Dispose()
        {
            body.Dispose();
            response.Dispose();
        }
    }
}
