using System.Text.Json;
using Payrail.DevEnvironment;
using Payrail.Testing;
using Payrail.Tests.Payments;
using Payrail.Webhooks;

namespace Payrail.Tests.Webhooks;

/// <summary>
/// The payment service with pspsim delivering to it for real: the receiver is registered as a webhook endpoint through
/// <see cref="WebhookRegistration"/> (the code `payrail up` runs), and the API verifies with the secret pspsim answered.
/// pspsim's retry schedule is compressed (1 min → 60 ms) and its async cards resolve within about a second, so a test
/// waits on conditions, never on Stripe's real delays.
/// </summary>
public sealed class DeliveredWebhookFixture : PaymentsApiFixture
{
    /// <summary>Delivery attempts and async card outcomes are background work: every wait on them is bounded by this.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public DevSecrets Secrets { get; } = new(Path.Combine(Path.GetTempPath(), "payrail-webhook-secrets-" + Guid.NewGuid().ToString("N")));

    public DeliveredWebhookFixture()
    {
        PspSim.ExtraArgs.AddRange([
            "--PspSim:WebhookRetryScale=0.001", // Stripe-like schedule ×0.001: retries after 60 ms, 300 ms, 1.8 s, ...
            // The bank answers an async card 2 s after the create (pspsim's default), so the API's own 202 processing is
            // out before the webhook even on a loaded 2-core machine (at 500 ms it lost that race about 1 run in 5).
            "--PspSim:AsyncDelayMs=2000", "--PspSim:DueChangesTickMs=50",
        ]);
    }

    public string Secret { get; private set; } = "";
    public string RegistrationLog { get; private set; } = "";
    public string ReceiverUrl => BaseUrl + WebhookEndpoints.StripeRoute;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stripe:WebhookSecrets:0", Secret),
        new("Stripe:ReturnUrl", BaseUrl + "/payments/return"),
    ];

    protected override async Task BeforeStartAsync()
    {
        using var log = new StringWriter();
        Secret = await WebhookRegistration.EnsureAsync(PspSim.BaseUrl, PspSim.ApiKey, ReceiverUrl, Secrets, log, CancellationToken.None)
                 ?? throw new InvalidOperationException("webhook registration failed: " + log);
        RegistrationLog = log.ToString();
    }

    /// <summary>A new buyer's payment with <paramref name="paymentMethod"/>, and the PaymentIntent behind it.</summary>
    public async Task<(ApiAnswer Answer, string PaymentIntentId, string Token)> PayAsync(string paymentMethod, long amount = 2_500)
    {
        var token = BuyerToken("b_" + Guid.NewGuid().ToString("N")[..10]);
        var answer = await PostPaymentAsync(token, Guid.NewGuid().ToString(), Body(amount: amount, paymentMethod: paymentMethod));
        return (answer, answer.Json.GetProperty("psp_reference").GetString()!, token);
    }

    public Task<string?> StatusAsync(Guid paymentId) => TextAsync("SELECT status FROM payments WHERE id = @id", paymentId);

    /// <summary>Waits until pspsim's delivery (the only path left) has brought the payment to <paramref name="status"/>.</summary>
    public Task UntilStatusAsync(Guid paymentId, string status) =>
        Eventually.TrueAsync(async () => await StatusAsync(paymentId) == status, Deadline, $"payment {paymentId} reaches {status} by webhook");

    /// <summary>Waits until pspsim has nothing left to deliver or retry: no late copy can arrive after the test's assertions.</summary>
    public Task UntilDeliveredAsync() =>
        Eventually.TrueAsync(async () => await PspSim.PendingDeliveriesAsync() == 0, Deadline, "pspsim has delivered every event");

    /// <summary>pspsim's delivery attempts of the PaymentIntent's events of <paramref name="type"/>, oldest first.</summary>
    public async Task<IReadOnlyList<JsonElement>> AttemptsAsync(string paymentIntentId, string type)
    {
        var ids = await EventIdsAsync(paymentIntentId, type);
        var attempts = new List<JsonElement>();
        foreach (var id in ids) attempts.AddRange(await PspSim.DeliveryAttemptsAsync(id));
        return attempts;
    }

    /// <summary>The ids of pspsim's events of <paramref name="type"/> about one PaymentIntent.</summary>
    public async Task<IReadOnlyList<string>> EventIdsAsync(string paymentIntentId, string type)
    {
        using var webhooks = new SignedWebhooks(PspSim, ReceiverUrl, Secret);
        return [.. (await webhooks.EventsForAsync(paymentIntentId)).Where(b => SignedWebhooks.TypeOf(b) == type).Select(SignedWebhooks.IdOf)];
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(Secrets.Directory, recursive: true); }
        catch (IOException) { }
    }
}
