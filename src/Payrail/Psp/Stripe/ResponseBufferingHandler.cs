namespace Payrail.Psp.Stripe;

/// <summary>
/// Reads the whole response body inside the handler chain, so a connection cut mid-body (pspsim's
/// response_lost, a proxy reset) fails the attempt where the retry policy and the attempt deadline
/// see it, instead of later inside HttpClient, outside both. Also bounds the body size.
/// </summary>
internal sealed class ResponseBufferingHandler(long maxResponseBytes) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            await response.Content.LoadIntoBufferAsync(maxResponseBytes, cancellationToken);
            return response;
        }
        catch (IOException e)
        {
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "The PSP connection ended while reading the response.", e);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
