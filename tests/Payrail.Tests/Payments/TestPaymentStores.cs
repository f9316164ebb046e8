using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Payrail.Idempotency;
using Payrail.Payments;

namespace Payrail.Tests.Payments;

/// <summary>A <see cref="PaymentStore"/> on a test database with the default options, outside any host.</summary>
internal static class TestPaymentStores
{
    public static PaymentStore For(NpgsqlDataSource database) =>
        new(database, Options.Create(new IdempotencyOptions()), Options.Create(new PaymentsOptions()),
            new PaymentMetrics(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>()),
            TimeProvider.System, NullLogger<PaymentStore>.Instance);
}
