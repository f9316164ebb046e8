using System.Text;
using Microsoft.AspNetCore.Http;
using Payrail.Api;
using Xunit;

namespace Payrail.Tests.Api;

/// <summary>The request body is read within its limit, into one buffer of its declared size.</summary>
public sealed class RequestBodyTests
{
    private static readonly byte[] Payment =
        Encoding.UTF8.GetBytes("""{"amount":1999,"currency":"USD","merchant_id":"m_demo","payment_method":"pm_card_visa","description":"order 42"}""");

    private static DefaultHttpContext Request(byte[] body, bool declareLength)
    {
        var http = new DefaultHttpContext();
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(body);
        if (declareLength) http.Request.ContentLength = body.Length;
        return http;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_is_read_whole_with_or_without_a_declared_length(bool declareLength)
    {
        var (body, refusal) = await RequestBody.ReadJsonAsync(Request(Payment, declareLength));

        Assert.Null(refusal);
        Assert.Equal(Payment, body.ToArray());
    }

    [Fact]
    public async Task A_body_of_declared_length_is_buffered_once_not_grown_at_its_end()
    {
        var http = Request(Payment, declareLength: true);
        await RequestBody.ReadJsonAsync(Request(Payment, declareLength: true)); // warm: the first call also compiles

        var before = GC.GetAllocatedBytesForCurrentThread();
        var (body, _) = await RequestBody.ReadJsonAsync(http);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Payment.Length, body.Length);
        // One buffer of the body's size and the reader's own small objects; growing it at the end cost 4 KiB more.
        Assert.InRange(allocated, Payment.Length, Payment.Length + 1_024);
    }

    [Fact]
    public async Task A_chunked_body_past_the_limit_is_refused_after_at_most_one_chunk_more()
    {
        var (_, refusal) = await RequestBody.ReadJsonAsync(Request(new byte[RequestBody.MaxBytes + 1], declareLength: false));

        Assert.NotNull(refusal);
    }
}
