using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Npgsql;

namespace Payrail.Dashboard;

/// <summary>
/// GET /stream: the signed-in merchant's live rows as Server-Sent Events. Each event's id is its number in the
/// merchant's stream log, which grows in commit order (migration 0020), so "everything after id n" is a gap-free,
/// duplicate-free resumption: a browser reconnecting sends Last-Event-ID and gets exactly what it missed, then live rows.
/// The first connection of a page passes <c>?after=</c> the position read before the page's rows. Only the caller's
/// merchant's log is ever read: the merchant comes from the session, never from the request.
/// </summary>
public sealed class DashboardStream(NpgsqlDataSource database, StreamSignals signals, DashboardWebOptions options, TimeProvider clock)
{
    public const string PaymentEvent = "payment";
    public const string ResetEvent = "reset";
    public const string PingEvent = "ping";
    /// <summary>How soon a browser reconnects after the connection drops.</summary>
    public static readonly TimeSpan ReconnectAfter = TimeSpan.FromMilliseconds(500);

    private int _open;
    private readonly HashSet<HttpContext> _connections = [];

    public int Open => Volatile.Read(ref _open);

    public async Task<IResult> HandleAsync(HttpContext http)
    {
        if (DashboardSession.CallerOf(http) is not { IsMerchant: true, MerchantId: { } merchantId })
            return Results.Text("sign in first\n", "text/plain", statusCode: StatusCodes.Status401Unauthorized);
        if (!TryStartPosition(http, out var after))
            return Results.Text("Last-Event-ID or after must be a stream position\n", "text/plain", statusCode: StatusCodes.Status400BadRequest);
        if (Interlocked.Increment(ref _open) > options.MaxStreams)
        {
            Interlocked.Decrement(ref _open);
            return Results.Text("too many open streams\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        lock (_connections) _connections.Add(http);
        // On completion however it ends (the browser left, the server stops, a cut): the count never leaks.
        http.Response.OnCompleted(() =>
        {
            lock (_connections) _connections.Remove(http);
            Interlocked.Decrement(ref _open);
            return Task.CompletedTask;
        });
        http.Response.Headers.CacheControl = "no-store";
        // Nginx and friends buffer responses unless told not to: a buffered stream is not live.
        http.Response.Headers["X-Accel-Buffering"] = "no";
        return TypedResults.ServerSentEvents(EventsAsync(merchantId, after, http.RequestAborted));
    }

    /// <summary>Last-Event-ID (a reconnect) wins over ?after= (the page's first connection); neither: from now.</summary>
    private static bool TryStartPosition(HttpContext http, out long? after)
    {
        after = null;
        var text = http.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header ? header : http.Request.Query["after"].ToString();
        if (text.Length == 0) return true;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var position)) return false;
        after = position;
        return true;
    }

    private async IAsyncEnumerable<SseItem<string>> EventsAsync(string merchantId, long? start,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Subscribed before the first read: a notification arriving between a read and the wait is kept, not lost.
        using var signal = signals.Subscribe(merchantId);
        var after = start ?? await StreamLog.PositionAsync(database, merchantId, cancellationToken);
        if (!await StreamLog.CanResumeAsync(database, merchantId, after, cancellationToken))
        {
            yield return new SseItem<string>("{}", ResetEvent) { ReconnectionInterval = ReconnectAfter };
            yield break;
        }
        yield return new SseItem<string>("{}", PingEvent) { ReconnectionInterval = ReconnectAfter };
        while (!cancellationToken.IsCancellationRequested)
        {
            var rows = await StreamLog.ReadAfterAsync(database, merchantId, after, options.StreamBatchRows, cancellationToken);
            foreach (var row in rows)
            {
                after = row.Seq;
                yield return new SseItem<string>(row.ToJson(), PaymentEvent) { EventId = row.Seq.ToString(CultureInfo.InvariantCulture) };
            }
            if (rows.Count == options.StreamBatchRows) continue;
            var wait = TimeSpan.FromMilliseconds(signals.Listening ? options.StreamHeartbeatMs : options.StreamPollMs);
            if (!await signal.WaitAsync(wait, clock, cancellationToken) && signals.Listening)
                yield return new SseItem<string>("{}", PingEvent);
        }
    }

    /// <summary>Cuts every open stream as a network failure would (tests: the browser must resume without a gap).</summary>
    internal void AbortAll()
    {
        HttpContext[] open;
        lock (_connections) open = [.. _connections];
        foreach (var http in open) http.Abort();
    }
}
