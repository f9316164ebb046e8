using System.Text;

namespace Payrail.Tests.Dashboard;

/// <summary>One Server-Sent Event as the wire carried it.</summary>
public sealed record SseEvent(string? Id, string Type, string Data);

/// <summary>Reads an open text/event-stream response event by event, each read bounded by a deadline.</summary>
public sealed class SseReader(HttpResponseMessage response, Stream body) : IAsyncDisposable
{
    private readonly StreamReader _reader = new(body, Encoding.UTF8);

    public HttpResponseMessage Response { get; } = response;

    public static async Task<SseReader> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null) request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseReader(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event; a TimeoutException when none comes within <paramref name="deadline"/>.</summary>
    public async Task<SseEvent> NextAsync(TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        string? id = null, type = null;
        var data = new StringBuilder();
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no event within {deadline.TotalSeconds:0.#} s");
            }
            if (line is null) throw new EndOfStreamException("the stream ended");
            if (line.Length == 0)
            {
                if (type is null && data.Length == 0 && id is null) continue;
                return new SseEvent(id, type ?? "message", data.ToString());
            }
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Append(line[6..]);
        }
    }

    /// <summary>Payment events until one with <paramref name="lastId"/>; pings are skipped.</summary>
    public async Task<List<SseEvent>> PaymentsUntilAsync(long lastId, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        var events = new List<SseEvent>();
        while (true)
        {
            var e = await NextAsync(TimeSpan.FromMilliseconds(Math.Max(1, (until - DateTime.UtcNow).TotalMilliseconds)));
            if (e.Type != "payment") continue;
            events.Add(e);
            if (long.Parse(e.Id!) >= lastId) return events;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        Response.Dispose();
        await Task.CompletedTask;
    }
}
