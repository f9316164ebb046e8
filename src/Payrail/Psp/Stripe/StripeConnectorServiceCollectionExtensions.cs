using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Payrail.Hosting;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Payrail.Psp.Stripe;

public static class StripeConnectorServiceCollectionExtensions
{
    /// <summary>Name of the one HttpClient that talks to Stripe (or pspsim).</summary>
    public const string HttpClientName = "Payrail.Psp.Stripe";

    /// <summary>
    /// The client that downloads report files: streamed, never buffered whole (a day's report is hundreds of MB), under
    /// the report's own deadline (<see cref="StripeConnectorOptions.ReportTimeoutMs"/>) instead of a request's.
    /// </summary>
    public const string FilesHttpClientName = "Payrail.Psp.Stripe.Files";

    /// <summary>The one HttpClient is never replaced, so its connections are: a DNS change reaches it within this.</summary>
    private static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Registers <see cref="IPspConnector"/> as <see cref="StripeConnector"/> with its options (section
    /// <c>Stripe</c>, validated at start) and its one HTTP client setup:
    /// total deadline → retry when Stripe says "later" (<see cref="TryLaterRetry"/>) → transport-only retry →
    /// per-attempt deadline → response buffering.
    /// </summary>
    public static IServiceCollection AddStripeConnector(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StripeConnectorOptions>()
            .Bind(configuration.GetSection(StripeConnectorOptions.SectionName))
            .ValidateOnStart();
        // Each broken setting by name (Stripe:BaseUrl, ...), so the role's refusal to start says what to fix.
        services.AddSingleton<IValidateOptions<StripeConnectorOptions>>(new NamedProblemsValidation<StripeConnectorOptions>(o => o.Problems()));
        services.TryAddSingleton(TimeProvider.System);

        // One connector for the process: a typed client (transient) built a Stripe.net client per payment and per
        // webhook, and that construction (user agent from the assembly's file version, serializer setup) cost more
        // CPU than the call itself under load. Its HttpClient lives as long: connections are renewed by lifetime.
        services.AddSingleton<IPspConnector>(sp => new StripeConnector(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(FilesHttpClientName),
            sp.GetRequiredService<IOptions<StripeConnectorOptions>>(),
            sp.GetRequiredService<ILogger<StripeConnector>>()));
        var http = services.AddHttpClient(HttpClientName, (sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<StripeConnectorOptions>>().Value;
                // Backstop only: the resilience pipeline below enforces the real deadlines.
                http.Timeout = TimeSpan.FromMilliseconds(options.TotalTimeoutMs) + TimeSpan.FromSeconds(5);
            });
        http.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = PooledConnectionLifetime });
        http.AddResilienceHandler("stripe-transport", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<StripeConnectorOptions>>().Value;
                // The one clock: deadlines and backoff follow the host's TimeProvider (tests can control it).
                pipeline.TimeProvider = context.ServiceProvider.GetRequiredService<TimeProvider>();
                pipeline.AddTimeout(TimeSpan.FromMilliseconds(options.TotalTimeoutMs));
                if (options.MaxTryLaterRetries > 0) pipeline.AddRetry(TryLaterRetry.Options(options));
                if (options.MaxNetworkRetries > 0) pipeline.AddRetry(TransportRetry(options));
                pipeline.AddTimeout(TimeSpan.FromMilliseconds(options.RequestTimeoutMs));
            });
        // Added last, so innermost: each attempt reads its whole body under its own deadline.
        http.AddHttpMessageHandler(sp => new ResponseBufferingHandler(
                sp.GetRequiredService<IOptions<StripeConnectorOptions>>().Value.MaxResponseBytes));
        services.AddHttpClient(FilesHttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = PooledConnectionLifetime });
        return services;
    }

    /// <summary>
    /// Why not Stripe.net's own retries (they are switched off in <see cref="StripeConnector"/>):
    /// besides connection errors, Stripe.net 53 also retries every HTTP 409 and 5xx, and whatever the
    /// <c>Stripe-Should-Retry</c> header says; it sleeps at least 500 ms without honouring cancellation,
    /// and it invents a random Idempotency-Key for POSTs that have none — so a retry it makes is never
    /// tied to the caller's key. Payrail's rule is stricter: retry only when no HTTP answer arrived
    /// (connection refused or reset, attempt deadline passed, response cut), and only for requests
    /// that are safe to replay — GETs and requests carrying an Idempotency-Key (Stripe's own "come back later"
    /// answers are retried by <see cref="TryLaterRetry"/>, under the same rule). Every mutating method
    /// of <see cref="StripeConnector"/> demands the caller's key, so the header seen here is always
    /// the caller's. An HTTP 5xx is answered to the caller as "outcome unknown", who retries later
    /// with the same key: no retry storm on a sick PSP.
    /// </summary>
    private static HttpRetryStrategyOptions TransportRetry(StripeConnectorOptions options) => new()
    {
        MaxRetryAttempts = options.MaxNetworkRetries,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = TimeSpan.FromMilliseconds(options.RetryBaseDelayMs),
        MaxDelay = TimeSpan.FromMilliseconds(options.MaxRetryDelayMs),
        ShouldRetryAfterHeader = false,
        ShouldHandle = args => ValueTask.FromResult(
            args.Outcome.Exception is HttpRequestException or TimeoutRejectedException
            && IsSafeToReplay(args.Context.GetRequestMessage())),
    };

    internal static bool IsSafeToReplay(HttpRequestMessage? request) =>
        request is not null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head
            || (request.Headers.TryGetValues("Idempotency-Key", out var keys) && keys.Any(k => !string.IsNullOrWhiteSpace(k))));
}
