using System.Net;
using Payrail.Webhooks;
using Stripe;

namespace Payrail.DevEnvironment;

/// <summary>
/// `up` points the PSP's webhooks at the API's receiver through Stripe's documented webhook endpoint API
/// (Stripe.net's <see cref="WebhookEndpointService"/>, against pspsim or a Stripe test account): an endpoint for the
/// receiver's URL is reused, else created, and the signing secret the create answers is kept in
/// <c>.payrail/secrets/stripe-webhook-secret</c> for the API role. Stripe shows a secret only in the create's answer,
/// so an endpoint whose secret was lost is deleted and created again. A PSP that does not offer the API (404) or does not
/// answer only costs a warning: `up` goes on, and webhooks wait for the next `up`.
/// </summary>
public static class WebhookRegistration
{
    public const string SecretName = "stripe-webhook-secret";

    /// <summary>Each call's deadline: `up` must not hang on a PSP that accepts connections and never answers.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Endpoints listed at most (Stripe allows 16 per account; pages of 100 are far beyond).</summary>
    private const int MaxEndpointsListed = 100;

    /// <summary>The secret webhooks to <paramref name="receiverUrl"/> are signed with, or the one kept from before when the PSP would not say.</summary>
    public static async Task<string?> EnsureAsync(
        string pspBaseUrl, string apiKey, string receiverUrl, DevSecrets secrets, TextWriter log, CancellationToken cancellationToken)
    {
        var kept = secrets.TryRead(SecretName);
        using var http = new HttpClient { Timeout = CallTimeout };
        var client = new StripeClient(apiKey, httpClient: new SystemNetHttpClient(http, maxNetworkRetries: 0, enableTelemetry: false),
            apiBase: pspBaseUrl.TrimEnd('/'));
        var endpoints = new WebhookEndpointService(client);
        try
        {
            var existing = await FindAsync(endpoints, receiverUrl, cancellationToken);
            if (existing is not null && (existing.Secret ?? kept) is { Length: > 0 } known)
            {
                if (known != kept) secrets.Set(SecretName, known);
                await log.WriteLineAsync($"webhooks   {receiverUrl} (endpoint {existing.Id}, reused)");
                return known;
            }
            if (existing is not null) await endpoints.DeleteAsync(existing.Id, cancellationToken: cancellationToken);
            var created = await endpoints.CreateAsync(new WebhookEndpointCreateOptions
            {
                Url = receiverUrl,
                EnabledEvents = [.. PspWebhookReceiver.HandledEventTypes],
                Description = "Payrail (payrail up)",
            }, cancellationToken: cancellationToken);
            if (string.IsNullOrEmpty(created.Secret)) throw new InvalidOperationException("the PSP created the endpoint without a signing secret");
            secrets.Set(SecretName, created.Secret);
            await log.WriteLineAsync($"webhooks   {receiverUrl} (endpoint {created.Id}, registered)");
            return created.Secret;
        }
        catch (StripeException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            await log.WriteLineAsync($"warning    the PSP at {pspBaseUrl} has no webhook endpoint API (404): webhooks are not delivered to {receiverUrl}");
            return kept;
        }
        catch (Exception e) when (e is StripeException or HttpRequestException or InvalidOperationException
                                  || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The message of a Stripe error names the request, never the key.
            await log.WriteLineAsync($"warning    webhook registration with {pspBaseUrl} failed ({e.GetType().Name}: {e.Message}); going on without it");
            return kept;
        }
    }

    private static async Task<WebhookEndpoint?> FindAsync(WebhookEndpointService endpoints, string url, CancellationToken cancellationToken)
    {
        var listed = 0;
        await foreach (var endpoint in endpoints.ListAutoPagingAsync(new WebhookEndpointListOptions { Limit = 100 }, cancellationToken: cancellationToken))
        {
            if (string.Equals(endpoint.Url, url, StringComparison.Ordinal)) return endpoint;
            if (++listed >= MaxEndpointsListed) break;
        }
        return null;
    }
}
