using CsCheck;
using Dapper;
using Npgsql;
using Payrail.Domain.Ledger;
using Payrail.Domain.Money;
using Payrail.Domain.Payments;
using Payrail.Ledger;
using Payrail.Payments;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.Database;

/// <summary>
/// The model earns its keep: random histories of transfers — valid and not — go to <see cref="LedgerBook"/> and to
/// PostgreSQL through the payment path's own batch (<see cref="PaymentStore.ApplyAsync"/>: account creation, both
/// forms of the transfer insert, the triggers). Every operation must get the same answer (accepted or refused, and
/// for what kind of reason), and afterwards every account must hold the same columns, and both books must verify.
/// </summary>
public sealed class LedgerModelEquivalenceTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    // Bounds keep the run near a few seconds on the 2-core machine: histories × operations batches in all.
    private const int Histories = 40;
    private const int MaxOperationsPerHistory = 40;

    private enum OpKind { Posted, Pending, PostPending, VoidPending, Replay, ReplayChanged }

    // Debit and Credit index Owners (equal indexes make a transfer to itself); Target picks an earlier operation's
    // transfer (or, one time in a few, an id nobody used); Percent sizes a post against its hold; Twist says which
    // field a changed replay or a mismatched post/void alters.
    private sealed record Op(OpKind Kind, int Debit, int Credit, int Currency, long Amount, int Target, int Percent, int Twist);

    private static readonly string[] OwnerNames = ["buyer:b1", "buyer:b2", "merchant:m1", "merchant:m2"];
    private static readonly Currency[] Currencies = [Currency.FromCode("EUR"), Currency.FromCode("JPY")];

    // Mostly payment-sized amounts, some refused ones (zero, negative), a few up to the API's maximum, and some so
    // large that two of them overflow an account's column (the model refuses with overflow, and so must PostgreSQL,
    // though an account's total is spread over 16 stripes that each fit).
    private static readonly Gen<long> GenAmount = Gen.Frequency(
        (16, Gen.Long[1, 10_000]), (2, Gen.Long[-2, 0]), (1, Gen.Long[10_001, MoneyLimits.MaxAmountMinor(Currencies[0])]),
        (5, Gen.Long[long.MaxValue / 2, long.MaxValue]));

    // Mostly payments (buyer → merchant, both sides unchecked), some refunds (merchant → buyer, both sides checked by
    // the flags), a few of anything (to itself, buyer → buyer, merchant → merchant).
    private static readonly Gen<(int Debit, int Credit)> GenAccounts = Gen.Frequency(
        (6, Gen.Select(Gen.Int[0, 1], Gen.Int[2, 3])), (2, Gen.Select(Gen.Int[2, 3], Gen.Int[0, 1])), (1, Gen.Select(Gen.Int[0, 3], Gen.Int[0, 3])));

    private static readonly Gen<Op> GenOp = Gen.Select(
        Gen.Int[0, 5], GenAccounts, Gen.Int[0, 1], GenAmount, Gen.Int[0, 1_000], Gen.Int[0, 130], Gen.Int[0, 9],
        (kind, accounts, currency, amount, target, percent, twist) =>
            new Op((OpKind)kind, accounts.Debit, accounts.Credit, currency, amount, target, percent, twist));

    [Fact]
    public async Task Random_transfer_histories_get_the_same_answers_and_balances_from_postgres_as_from_the_model()
    {
        await using var database = NpgsqlDataSource.Create(postgres.ConnectionString);
        await using (var seed = await database.OpenConnectionAsync())
            await seed.ExecuteAsync("INSERT INTO merchants (id, name) VALUES ('m_model', 'Model') ON CONFLICT DO NOTHING");
        var store = Payments.TestPaymentStores.For(database);

        await GenOp.Array[1, MaxOperationsPerHistory].SampleAsync(
            ops => RunHistoryAsync(database, store, ops), iter: Histories, threads: 1);
    }

    private static async Task RunHistoryAsync(NpgsqlDataSource database, PaymentStore store, Op[] ops)
    {
        // Fresh owners and a fresh payment per history: histories share the database, never an account.
        var history = new History(Guid.NewGuid().ToString("N")[..12], await NewPaymentAsync(database));
        var book = new LedgerBook();
        for (var i = 0; i < ops.Length; i++)
        {
            var draft = history.Draft(ops[i]);
            var expected = book.Apply(draft);
            var refusal = await history.ApplyAsync(store, draft);
            Assert.True(Class(expected) == (refusal is null ? "accepted" : ClassOf(refusal.SqlState)),
                $"operation {i} {ops[i]} as {draft}: model {expected.ToCode()}, PostgreSQL " +
                $"{(refusal is null ? "accepted" : $"{refusal.SqlState} {refusal.MessageText}")}");
            history.Issued.Add(draft);
            if (expected == TransferResult.Ok) history.Accepted.Add(draft);
        }

        await using var connection = await database.OpenConnectionAsync();
        await AssertAccountsEqualAsync(connection, history, book);
        Assert.Equal(
            book.Transfers.Select(t => t.Id).Order(),
            (await connection.QueryAsync<Guid>("SELECT id FROM ledger_transfers WHERE payment_id = @id", new { id = history.Payment.Id })).Order());
        Assert.Empty(book.Verify());
        Assert.Empty(await LedgerVerification.VerifyAsync(connection));
    }

    private static async Task AssertAccountsEqualAsync(NpgsqlConnection connection, History history, LedgerBook book)
    {
        var stored = (await connection.QueryAsync<(string Owner, string Currency, int Flags, long DebitsPending, long DebitsPosted,
            long CreditsPending, long CreditsPosted)>(
            """
            SELECT owner, currency::text, flags, debits_pending, debits_posted, credits_pending, credits_posted
            FROM ledger_account_totals WHERE owner = ANY(@owners)
            """, new { owners = history.Owners }))
            .OrderBy(a => a.Owner, StringComparer.Ordinal).ThenBy(a => a.Currency, StringComparer.Ordinal).ToList();
        var modelled = book.Accounts
            .Select(a => (a.Owner, a.Currency.Code, (int)a.Flags, a.DebitsPending, a.DebitsPosted, a.CreditsPending, a.CreditsPosted))
            .OrderBy(a => a.Owner, StringComparer.Ordinal).ThenBy(a => a.Code, StringComparer.Ordinal).ToList();
        Assert.Equal(modelled, stored);
    }

    // The refusal classes both books share. Within a class the order of checks differs (PostgreSQL checks constraints
    // and indexes before the transfer trigger; the model checks a pending reference's accounts before whether it
    // was already resolved; the trigger checks the debit side's flag before the credit side can overflow, the model
    // computes both sides before it checks a flag), so a transfer broken twice may name either fault of one class.
    private static string Class(TransferResult result) => result switch
    {
        TransferResult.Ok or TransferResult.Exists => "accepted",
        TransferResult.ExistsWithDifferentFields => "exists_with_different_fields",
        TransferResult.AmountMustBePositive or TransferResult.AccountsMustBeDifferent
            or TransferResult.PendingIdRequired or TransferResult.PendingIdMustBeEmpty => "shape",
        TransferResult.PendingTransferNotFound or TransferResult.PendingTransferNotPending
            or TransferResult.PendingTransferHasDifferentAccounts or TransferResult.PendingTransferHasDifferentCurrency
            or TransferResult.PendingTransferAlreadyPosted or TransferResult.PendingTransferAlreadyVoided
            or TransferResult.ExceedsPendingTransferAmount or TransferResult.VoidAmountMustMatchPendingAmount => "pending_reference",
        TransferResult.ExceedsCredits or TransferResult.ExceedsDebits or TransferResult.Overflow => "balance_limit",
        _ => result.ToCode(),
    };

    private static string ClassOf(string sqlState) => sqlState switch
    {
        LedgerSqlState.TransferExistsWithDifferentFields => "exists_with_different_fields",
        PostgresErrorCodes.CheckViolation => "shape",
        PostgresErrorCodes.ForeignKeyViolation or PostgresErrorCodes.UniqueViolation or LedgerSqlState.InvalidPendingReference
            or LedgerSqlState.PendingAmountMismatch => "pending_reference",
        LedgerSqlState.BalanceLimitExceeded or PostgresErrorCodes.NumericValueOutOfRange => "balance_limit",
        _ => sqlState,
    };

    private static async Task<PaymentRecord> NewPaymentAsync(NpgsqlDataSource database)
    {
        var now = PaymentRecord.ToDatabasePrecision(DateTimeOffset.UtcNow);
        var payment = new PaymentRecord(Guid.CreateVersion7(now), "m_model", "b_model", 1000, "EUR", PaymentStatus.Processing,
            CaptureMethod.Manual, null, null, 0, 0, null, null, null, new Dictionary<string, string>(), 1, now, now);
        await using var connection = await database.OpenConnectionAsync();
        await connection.ExecuteAsync(
            "INSERT INTO payments (id, merchant_id, buyer_id, amount_minor, currency, status, capture_method, version, created_at, updated_at) " +
            "VALUES (@Id, @MerchantId, @BuyerId, @AmountMinor, @CurrencyCode, 'processing', 'manual', 1, @CreatedAt, @UpdatedAt)", payment);
        return payment;
    }

    /// <summary>One history's owners, payment and the transfers issued so far (accepted or not).</summary>
    private sealed class History(string tag, PaymentRecord payment)
    {
        public string[] Owners { get; } = OwnerNames.Select(o => $"{o}-{tag}").ToArray();

        public PaymentRecord Payment { get; private set; } = payment;

        public List<TransferDraft> Issued { get; } = [];

        public List<TransferDraft> Accepted { get; } = [];

        public TransferDraft Draft(Op op)
        {
            var currency = Currencies[op.Currency];
            return op.Kind switch
            {
                OpKind.Posted => new(Guid.NewGuid(), TransferKind.Posted, Owners[op.Debit], Owners[op.Credit], op.Amount, currency, null),
                OpKind.Pending => new(Guid.NewGuid(), TransferKind.Pending, Owners[op.Debit], Owners[op.Credit], op.Amount, currency, null),
                OpKind.PostPending or OpKind.VoidPending => Resolution(op),
                OpKind.Replay when Issued.Count > 0 => Earlier(op),
                OpKind.ReplayChanged when Issued.Count > 0 => Changed(Earlier(op), op),
                _ => new(Guid.NewGuid(), TransferKind.Posted, Owners[op.Debit], Owners[op.Credit], op.Amount, currency, null),
            };
        }

        /// <summary>The transfer through the payment path's batch; null when accepted, else PostgreSQL's refusal.</summary>
        public async Task<PostgresException?> ApplyAsync(PaymentStore store, TransferDraft draft)
        {
            var after = Payment with { Version = Payment.Version + 1 };
            var change = new PaymentChange(Payment, after, [], "ledger-model", [[draft]], []);
            try
            {
                Assert.True(await store.ApplyAsync(change, null, 0, null));
                Payment = after;
                return null;
            }
            catch (PostgresException refused)
            {
                return refused;
            }
        }

        // A post or void of an earlier transfer (mostly an accepted hold; else any, accepted or not) or of an unknown
        // id; one time in five with the other debit owner or the other currency, and an amount that may exceed or
        // miss the hold.
        private TransferDraft Resolution(Op op)
        {
            var kind = op.Kind == OpKind.PostPending ? TransferKind.PostPending : TransferKind.VoidPending;
            var holds = Accepted.Where(t => t.Kind == TransferKind.Pending).ToList();
            var target = (op.Target % 8) switch
            {
                0 => null,
                1 => Issued.Count > 0 ? Issued[op.Target % Issued.Count] : null,
                _ => holds.Count > 0 ? holds[op.Target % holds.Count] : Issued.Count > 0 ? Issued[op.Target % Issued.Count] : null,
            };
            if (target is null)
            {
                return new(Guid.NewGuid(), kind, Owners[op.Debit], Owners[op.Credit], op.Amount, Currencies[op.Currency], Guid.NewGuid());
            }

            var amount = kind == TransferKind.PostPending
                ? (long)Int128.Min((Int128)target.AmountMinor * op.Percent / 100, long.MaxValue)
                : target.AmountMinor + (op.Percent > 110 ? op.Percent - 120 : 0);
            var draft = new TransferDraft(Guid.NewGuid(), kind, target.DebitOwner, target.CreditOwner, amount, target.Currency, target.Id);
            return op.Twist switch
            {
                0 => draft with { DebitOwner = Owners[op.Debit] },
                1 => draft with { Currency = Other(draft.Currency) },
                _ => draft,
            };
        }

        // Mostly an accepted transfer, sometimes one that was refused (its id is then still free).
        private TransferDraft Earlier(Op op) =>
            Accepted.Count > 0 && op.Target % 4 != 0 ? Accepted[op.Target % Accepted.Count] : Issued[op.Target % Issued.Count];

        // The same id with one field changed (or, for Twist ≥ 7, unchanged: a plain replay).
        private TransferDraft Changed(TransferDraft issued, Op op) => op.Twist switch
        {
            0 => issued with { AmountMinor = issued.AmountMinor + 1 },
            1 => issued with { DebitOwner = Owners[op.Debit] },
            2 => issued with { CreditOwner = Owners[op.Credit] },
            3 => issued with { Currency = Other(issued.Currency) },
            4 => issued with { Kind = issued.Kind switch
            {
                TransferKind.Posted => TransferKind.Pending,
                TransferKind.Pending => TransferKind.Posted,
                TransferKind.PostPending => TransferKind.VoidPending,
                _ => TransferKind.PostPending,
            } },
            5 => issued with { PendingId = issued.PendingId is null ? Guid.NewGuid() : null },
            6 => issued with { PendingId = Issued[op.Target / 7 % Issued.Count].Id },
            _ => issued,
        };

        private static Currency Other(Currency currency) => currency == Currencies[0] ? Currencies[1] : Currencies[0];
    }
}
