using System.Net;
using System.Text;
using Payrail.Psp.Stripe;
using Xunit;

namespace Payrail.Tests.Psp;

/// <summary>
/// Balance transaction pages are read into pooled buffers (<see cref="PooledBodyContent"/>): the body must come out
/// whole, within Stripe:MaxResponseBytes whatever the server declares, and never be readable once given back.
/// </summary>
public sealed class PooledBodyContentTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 * 1024)]
    [InlineData(300_000)]
    public async Task A_body_within_the_bound_is_read_whole_with_its_headers(int bytes)
    {
        var sent = Enumerable.Range(0, bytes).Select(i => (byte)(i * 7)).ToArray();

        // Declared length or none (chunked): the same bytes either way.
        foreach (var declared in new[] { true, false })
        {
            using var pooled = await PooledBodyContent.ReadAsync(Content(sent, declared), maxBytes: 300_000, None);

            Assert.Equal(sent, pooled.Body.ToArray());
            Assert.Equal(sent, await pooled.ReadAsByteArrayAsync(None));
            Assert.Equal("application/json", pooled.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task A_body_past_the_bound_is_refused_whether_or_not_its_length_is_declared()
    {
        var sent = new byte[300_001];

        await Assert.ThrowsAsync<HttpRequestException>(() => PooledBodyContent.ReadAsync(Content(sent, declared: true), 300_000, None));
        await Assert.ThrowsAsync<HttpRequestException>(() => PooledBodyContent.ReadAsync(Content(sent, declared: false), 300_000, None));
    }

    [Fact]
    public async Task A_disposed_body_cannot_be_read()
    {
        var pooled = await PooledBodyContent.ReadAsync(Content(Encoding.UTF8.GetBytes("{}"), declared: true), 1_024, None);

        pooled.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pooled.Body.Length);
    }

    private static HttpContent Content(byte[] body, bool declared)
    {
        // A stream of unknown length stands for a chunked body.
        HttpContent content = declared ? new ByteArrayContent(body) : new StreamContent(new UnknownLengthStream(body));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    private sealed class UnknownLengthStream(byte[] body) : MemoryStream(body)
    {
        public override bool CanSeek => false;
    }
}
