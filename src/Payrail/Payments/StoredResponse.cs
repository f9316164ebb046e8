using System.Text;

namespace Payrail.Payments;

/// <summary>A JSON answer written byte for byte as stored, so a replay is identical to the first answer.</summary>
public sealed class StoredResponse(int statusCode, string body, bool replayed = false) : IResult
{
    public const string ReplayedHeader = "Idempotent-Replayed";

    public int StatusCode { get; } = statusCode;
    public string Body { get; } = body;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCode;
        // A stored problem (a refused capture or void) is replayed as what it is.
        response.ContentType = Api.Problems.IsProblemJson(Body) ? Api.Problems.ContentType : "application/json; charset=utf-8";
        if (replayed) response.Headers[ReplayedHeader] = "true";
        var bytes = Encoding.UTF8.GetBytes(Body);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, httpContext.RequestAborted);
    }
}
