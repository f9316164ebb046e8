using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using HdrHistogram;
using Payrail.Auth;
using Payrail.Dashboard;
using Spectre.Console;

namespace Payrail.Bench;

/// <param name="ApiBaseUrl">Where payments are sent (POST /v1/payments), as a buyer.</param>
/// <param name="DashboardUrl">The running dashboard whose GET /stream is watched, as the signed-in merchant.</param>
/// <param name="MerchantToken">The merchant's session: sent as the dashboard's cookie, as a signed-in browser does.</param>
/// <param name="RowDeadline">A payment not seen captured on the stream this long after its 201 is a missing row.</param>
/// <param name="WarmUp">Payments sent first at the same rate and not recorded (JIT, pools, the pipeline's first batches).</param>
public sealed record DashboardBenchOptions(
    Uri ApiBaseUrl,
    Uri DashboardUrl,
    string BuyerToken,
    string MerchantToken,
    string MerchantId,
    int RatePerSecond,
    TimeSpan Duration,
    TimeSpan RowDeadline,
    TimeSpan WarmUp,
    int RequestTimeoutMs = 30_000);

/// <summary>
/// One run's figures. <see cref="LatencyMicros"/>: from each payment's 201 (its commit has happened) to the first event of
/// the merchant's stream carrying it as captured. <see cref="Api"/>: the API's own answers, timed as `payrail bench` does.
/// </summary>
public sealed record DashboardBenchReport(long Created, long Seen, long Missing, LongHistogram LatencyMicros, LatencyReport Api,
    IReadOnlyDictionary<string, long> StreamErrors)
{
    public static readonly TimeSpan TargetP95 = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan TargetP99 = TimeSpan.FromSeconds(2);

    public double Millis(double percentile) => LatencyMicros.TotalCount == 0 ? 0 : LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;

    /// <summary>Issue 14's target: p95 under 1 s and p99 under 2 s, with every row seen (a missing row is an unbounded latency).</summary>
    public bool MeetsTarget => Created > 0 && Missing == 0 && Api.Failed == 0
        && Millis(95) < TargetP95.TotalMilliseconds && Millis(99) < TargetP99.TotalMilliseconds;
}

/// <summary>
/// `payrail bench dashboard` (issue 14 "Performance"): commit → row visible. It opens the merchant's live stream on the
/// running dashboard, sends payments open loop through the API, and times each payment from its 201 to the first
/// stream event showing it captured. The stream is what the browser's page patches its rows from, so this is the
/// page's latency less the browser's own rendering.
/// </summary>
public static class DashboardBench
{
    public const string StreamPath = "/stream";
    public const string CapturedStatus = "captured";
    private const int MaxStreamReconnects = 5;
    private static readonly TimeSpan StreamOpenTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ExpiryTick = TimeSpan.FromMilliseconds(50);

    public static async Task<DashboardBenchReport> RunAsync(DashboardBenchOptions options, CancellationToken cancellationToken)
    {
        using var api = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = options.ApiBaseUrl,
            Timeout = TimeSpan.FromMilliseconds(options.RequestTimeoutMs),
        };
        // The stream stays open for the whole run: no overall timeout; opening it is bounded by StreamOpenTimeout.
        using var dashboard = new HttpClient(new SocketsHttpHandler { ConnectTimeout = StreamOpenTimeout, UseCookies = false })
        {
            BaseAddress = options.DashboardUrl,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var clock = Stopwatch.StartNew();
        var watch = new RowWatch(options.RowDeadline);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var positioned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(() => ReadStreamAsync(dashboard, options.MerchantToken, watch, clock, positioned, stop.Token), CancellationToken.None);
        // The stream starts "from now": payments sent before its first event could be logged before its start position.
        await positioned.Task.WaitAsync(StreamOpenTimeout, cancellationToken);

        if (options.WarmUp > TimeSpan.Zero)
            await OpenLoop.RunAsync(ct => SendAsync(api, options, watch, clock, record: false, ct), options.RatePerSecond, new LatencyRecorder(),
                Stopwatch.StartNew(), options.WarmUp, cancellationToken);
        var recorder = new LatencyRecorder();
        var sendClock = Stopwatch.StartNew();
        await OpenLoop.RunAsync(ct => SendAsync(api, options, watch, clock, record: true, ct), options.RatePerSecond, recorder, sendClock,
            options.Duration, cancellationToken);
        var apiReport = recorder.ToReport("POST /v1/payments", Math.Max(sendClock.Elapsed.TotalSeconds, 0.001));

        // Every row is either seen or past its deadline: bounded by the last 201 plus RowDeadline.
        using var tick = new PeriodicTimer(ExpiryTick);
        while (watch.Expire(clock.Elapsed) > 0 && !reader.IsCompleted && await tick.WaitForNextTickAsync(cancellationToken)) { }
        await stop.CancelAsync();
        await reader;
        watch.Expire(TimeSpan.MaxValue);
        return watch.ToReport(apiReport);
    }

    /// <summary>POST one payment; on 201 its id starts waiting for its row. Null on success, otherwise the kind of failure.</summary>
    private static async Task<string?> SendAsync(HttpClient http, DashboardBenchOptions options, RowWatch watch, Stopwatch clock, bool record,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/payments")
        {
            Content = new StringContent(
                $$"""{"merchant_id":"{{options.MerchantId}}","amount":1999,"currency":"USD","payment_method":"pm_card_visa"}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.BuyerToken);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created) return $"http {(int)response.StatusCode}";
            // The 201 is the moment measured from: the body is read after it, so the clock is read first.
            var created = clock.Elapsed;
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            if (!Guid.TryParse(body.RootElement.GetProperty("id").GetString(), out var paymentId)) return "201 without a payment id";
            if (record) watch.Created(paymentId, created);
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "timeout";
        }
        catch (HttpRequestException e)
        {
            return $"transport: {e.HttpRequestError}";
        }
    }

    /// <summary>
    /// Reads the merchant's stream until stopped. A dropped connection is resumed with Last-Event-ID, as the page does (at
    /// most <see cref="MaxStreamReconnects"/> times); the time it took shows in the rows' latency.
    /// </summary>
    private static async Task ReadStreamAsync(HttpClient dashboard, string merchantToken, RowWatch watch, Stopwatch clock,
        TaskCompletionSource positioned, CancellationToken cancellationToken)
    {
        string? lastEventId = null;
        for (var attempt = 0; attempt <= MaxStreamReconnects && !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, StreamPath);
                request.Headers.Add("Cookie", $"{DashboardSession.CookieName}={merchantToken}");
                if (lastEventId is not null) request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
                using var response = await dashboard.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    watch.StreamError($"stream: http {(int)response.StatusCode}");
                    positioned.TrySetException(new InvalidOperationException($"GET {StreamPath} answered {(int)response.StatusCode}"));
                    return;
                }
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var parser = SseParser.Create(body);
                await foreach (var item in parser.EnumerateAsync(cancellationToken))
                {
                    positioned.TrySetResult();
                    if (item.EventType == DashboardStream.ResetEvent)
                    {
                        // The log was pruned past our position: the rows in between can't be seen any more.
                        watch.StreamError("stream: reset");
                        return;
                    }
                    if (item.EventType == DashboardStream.PaymentEvent && CapturedPayment(item.Data) is { } paymentId)
                        watch.Captured(paymentId, clock.Elapsed);
                }
                lastEventId = parser.LastEventId is { Length: > 0 } id ? id : lastEventId;
                watch.StreamError("stream: ended");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                watch.StreamError($"stream: {e.GetType().Name}");
            }
        }
        positioned.TrySetException(new InvalidOperationException($"GET {StreamPath} could not be read"));
    }

    /// <summary>The event's payment when it shows it captured; null for any other status.</summary>
    private static Guid? CapturedPayment(string data)
    {
        using var json = JsonDocument.Parse(data);
        return json.RootElement.TryGetProperty("status", out var status) && status.GetString() == CapturedStatus
            && json.RootElement.TryGetProperty("payment_id", out var id) && id.TryGetGuid(out var paymentId)
            ? paymentId : null;
    }

    /// <summary>`payrail bench dashboard` against the running platform: Api:Urls and Dashboard:Urls, development tokens.</summary>
    public static async Task<int> RunCommandAsync(IConfiguration configuration, int rate, int seconds, string merchant, string? url,
        string? dashboardUrl, int rowDeadlineMs, CancellationToken cancellationToken)
    {
        if (rate is < 1 or > MaxRatePerSecond || seconds is < 1 or > MaxSeconds || rowDeadlineMs is < 100 or > MaxRowDeadlineMs)
        {
            Console.Error.WriteLine($"--rate 1-{MaxRatePerSecond}, --seconds 1-{MaxSeconds}, --row-deadline-ms 100-{MaxRowDeadlineMs}");
            return 2;
        }
        var apiUrl = new Uri(Loopback(url ?? configuration["Api:Urls"]?.Split(';')[0] ?? "http://127.0.0.1:8081"));
        var streamUrl = new Uri(Loopback(dashboardUrl ?? (configuration["Dashboard:Urls"] is { Length: > 0 } d ? d : DashboardWebOptions.DefaultUrls).Split(';')[0]));
        var auth = AuthOptions.ForDevTool(configuration);
        var lifetime = TimeSpan.FromSeconds(seconds + 600);
        var now = TimeProvider.System.GetUtcNow();
        var options = new DashboardBenchOptions(apiUrl, streamUrl,
            DevTokens.Issue(auth, Roles.Buyer, $"bench_{now.ToUnixTimeSeconds()}", null, lifetime, now),
            DevTokens.Issue(auth, Roles.Merchant, "bench-dashboard", merchant, lifetime, now), merchant, rate,
            TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(rowDeadlineMs), WarmUp);
        Console.WriteLine($"POST {apiUrl}v1/payments open loop at {rate}/s for {seconds} s (after {WarmUp.TotalSeconds:0} s unrecorded), " +
            $"merchant {merchant}; watching {streamUrl.AbsoluteUri.TrimEnd('/')}{StreamPath} for each as {CapturedStatus}, " +
            $"row deadline {rowDeadlineMs} ms, from {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        DashboardBenchReport report;
        try
        {
            report = await RunAsync(options, cancellationToken);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException)
        {
            Console.Error.WriteLine($"the dashboard's stream could not be opened ({e.Message}): is `./payrail up` running?");
            return 1;
        }
        Print(report);
        return report.Missing == 0 && report.Api.Failed == 0 ? 0 : 1;
    }

    private const int MaxRatePerSecond = 5_000;
    private const int MaxSeconds = 3_600;
    private const int MaxRowDeadlineMs = 60_000;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    private static string Loopback(string url) => url.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal);

    private static void Print(DashboardBenchReport r)
    {
        string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
        var table = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("ms").NoWrap())
            .AddColumns(new[] { "count", "missing", "p50", "p95", "p99", "max" }.Select(c => new TableColumn(c).RightAligned()).ToArray());
        table.AddRow("201 → row captured", F(r.Seen, "0"), F(r.Missing, "0"), F(r.Millis(50), "0.0"), F(r.Millis(95), "0.0"),
            F(r.Millis(99), "0.0"), F(r.Millis(100), "0.0"));
        table.AddRow("POST /v1/payments", F(r.Api.Succeeded, "0"), F(r.Api.Failed, "0"), F(r.Api.Millis(50), "0.0"), F(r.Api.Millis(95), "0.0"),
            F(r.Api.Millis(99), "0.0"), F(r.Api.Millis(100), "0.0"));
        AnsiConsole.Write(table);
        Console.WriteLine("row: from the API's 201 to the first /stream event with the payment captured; missing: not seen within the row deadline;\n" +
            "POST: from when each request was due (open loop), its missing column counts failed requests");
        foreach (var (kind, count) in r.Api.ErrorsByKind.Concat(r.StreamErrors).OrderByDescending(e => e.Value))
            Console.WriteLine($"error {count,10}  {kind}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"target p95 < {DashboardBenchReport.TargetP95.TotalMilliseconds:0} ms, p99 < {DashboardBenchReport.TargetP99.TotalMilliseconds:0} ms, no row missing: {(r.MeetsTarget ? "met" : "NOT met")}"));
    }
}

/// <summary>
/// The payments waiting for their row, and the rows seen. A row may be seen before its 201 is read (the commit
/// precedes the answer): it waits in <c>_seenFirst</c> and counts as no delay. Both maps are bounded: an entry leaves
/// when matched or when older than the row deadline, and beyond <see cref="MaxTracked"/> a payment is counted missing
/// at once rather than held.
/// </summary>
internal sealed class RowWatch(TimeSpan rowDeadline)
{
    public const int MaxTracked = 200_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, TimeSpan> _awaiting = [];
    private readonly Dictionary<Guid, TimeSpan> _seenFirst = [];
    private readonly LongHistogram _latencyMicros = new(LatencyRecorder.HighestTrackableMicros, 3);
    private readonly Dictionary<string, long> _streamErrors = [];
    private long _created;
    private long _missing;

    public void Created(Guid paymentId, TimeSpan now)
    {
        lock (_gate)
        {
            _created++;
            if (_seenFirst.Remove(paymentId)) Record(TimeSpan.Zero);
            else if (_awaiting.Count >= MaxTracked) _missing++;
            else _awaiting[paymentId] = now;
        }
    }

    /// <summary>A stream event shows the payment captured: only the first one counts.</summary>
    public void Captured(Guid paymentId, TimeSpan now)
    {
        lock (_gate)
        {
            // Seen after its deadline is missing, whether or not an expiry pass has run since.
            if (_awaiting.Remove(paymentId, out var created))
                if (now - created > rowDeadline) _missing++;
                else Record(now - created);
            else if (_seenFirst.Count < MaxTracked) _seenFirst.TryAdd(paymentId, now);
        }
    }

    public void StreamError(string kind)
    {
        lock (_gate) _streamErrors[kind] = _streamErrors.GetValueOrDefault(kind) + 1;
    }

    /// <summary>Counts as missing every payment past its deadline at <paramref name="now"/>; returns how many still wait.</summary>
    public int Expire(TimeSpan now)
    {
        lock (_gate)
        {
            foreach (var (id, created) in _awaiting.ToList())
                if (now == TimeSpan.MaxValue || now - created > rowDeadline)
                {
                    _awaiting.Remove(id);
                    _missing++;
                }
            // Rows of payments not sent by this run (warm-up, other clients) are dropped once no 201 can still match them.
            foreach (var (id, seen) in _seenFirst.ToList())
                if (now == TimeSpan.MaxValue || now - seen > rowDeadline) _seenFirst.Remove(id);
            return _awaiting.Count;
        }
    }

    private void Record(TimeSpan latency) =>
        _latencyMicros.RecordValue(Math.Clamp((long)latency.TotalMicroseconds, 1, LatencyRecorder.HighestTrackableMicros));

    public DashboardBenchReport ToReport(LatencyReport api)
    {
        lock (_gate)
            return new DashboardBenchReport(_created, _latencyMicros.TotalCount, _missing, (LongHistogram)_latencyMicros.Copy(), api,
                new Dictionary<string, long>(_streamErrors));
    }
}
