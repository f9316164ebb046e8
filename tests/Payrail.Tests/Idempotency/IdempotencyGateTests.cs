using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Payrail.Api;
using Payrail.Auth;
using Payrail.Idempotency;
using Payrail.Tests.Payments;
using Payrail.Testing;
using StackExchange.Redis;
using Xunit;

namespace Payrail.Tests.Idempotency;

/// <summary>
/// The payment service with a second, test-only endpoint under the same <see cref="IdempotencyGate"/>: it creates a note
/// row in the key's claim, like <c>POST /v1/payments</c> creates the payment. Its own Redis, because a test stops it.
/// </summary>
public sealed class GatedNotesFixture : PaymentsApiFixture
{
    public const string Route = "POST /test/notes";
    private int _runs;
    private int _resumes;

    /// <summary>When set, a fresh run waits for it: the request stays in flight with its key processing.</summary>
    public TaskCompletionSource? Hold { get; set; }

    /// <summary>The next fresh run dies after its claim committed (as a process killed mid-request would).</summary>
    public bool CrashNextRun { get; set; }

    public int Runs => Volatile.Read(ref _runs);
    public int Resumes => Volatile.Read(ref _resumes);

    protected override void MapTestEndpoints(WebApplication app)
    {
        using (var connection = new NpgsqlConnection(Postgres.ConnectionString))
        {
            connection.Open();
            using var create = new NpgsqlCommand("CREATE TABLE test_gated_notes (id uuid PRIMARY KEY, text text NOT NULL)", connection);
            create.ExecuteNonQuery();
        }
        app.MapPost("/test/notes", CreateNoteAsync).RequireAuthorization(Roles.Buyer);
    }

    public async Task<ApiAnswer> PostNoteAsync(string token, string key, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/test/notes") { Content = new StringContent(text, Encoding.UTF8, "text/plain") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation(IdempotencyKey.HeaderName, key);
        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    private async Task<IResult> CreateNoteAsync(HttpContext http, IdempotencyGate gate, IdempotencyStore keys)
    {
        var caller = Caller.From(http.User);
        if (IdempotencyGate.TryReadKey(http, caller, Route, out var key) is { } refusal) return refusal;
        using var reader = new StreamReader(http.Request.Body);
        var text = await reader.ReadToEndAsync();
        return await gate.RunAsync(key, Encoding.UTF8.GetBytes(text), new NoteCreation(this, keys, text));
    }

    private sealed class NoteCreation(GatedNotesFixture notes, IdempotencyStore keys, string text) : IIdempotentOperation
    {
        public IdempotencyClaim Claim(DateTimeOffset now) => new(Guid.CreateVersion7(now), now, """
            , note AS (INSERT INTO test_gated_notes (id, text) SELECT payment_id, @note_text FROM claim)
            """, p => p.AddWithValue("note_text", text));

        public async Task<IdempotentAnswer> RunAsync(IdempotencyLease lease)
        {
            Interlocked.Increment(ref notes._runs);
            if (notes.Hold is { } hold) await hold.Task;
            if (notes.CrashNextRun)
            {
                notes.CrashNextRun = false;
                throw new InvalidOperationException("the test killed this request after its claim");
            }
            return await CompleteAsync(lease, resumed: false);
        }

        public async Task<IdempotentAnswer> ResumeAsync(IdempotencyLease lease)
        {
            Interlocked.Increment(ref notes._resumes);
            return await CompleteAsync(lease, resumed: true);
        }

        private async Task<IdempotentAnswer> CompleteAsync(IdempotencyLease lease, bool resumed)
        {
            var body = JsonSerializer.Serialize(new { id = lease.ResourceId, text, resumed });
            await keys.CompleteKeyAsync(lease.Key, StatusCodes.Status201Created, body);
            return new IdempotentAnswer(StatusCodes.Status201Created, body, Final: true);
        }
    }
}

/// <summary>
/// The idempotency gate once, on an endpoint that is not <c>POST /v1/payments</c> (whose own tests prove it per endpoint):
/// DESIGN.md step 3 for any mutating call.
/// </summary>
public sealed class IdempotencyGateTests(GatedNotesFixture api) : IClassFixture<GatedNotesFixture>
{
    [Fact]
    public async Task A_repeated_request_is_replayed_from_the_first_answer_without_running_again()
    {
        var (token, buyer) = NewBuyer();
        var runs = api.Runs;

        var first = await api.PostNoteAsync(token, "note-1", "hello");
        var again = await api.PostNoteAsync(token, "note-1", "hello");

        Assert.Equal(201, first.Status);
        Assert.False(first.Headers.ContainsKey("Idempotent-Replayed"));
        Assert.Equal(201, again.Status);
        Assert.Equal(first.Body, again.Body);
        Assert.Equal("true", again.Headers["Idempotent-Replayed"]);
        Assert.Equal(runs + 1, api.Runs);
        Assert.Equal(1, await NotesAsync("hello", buyer));
    }

    [Fact]
    public async Task The_same_key_with_another_request_is_refused_with_422_and_writes_nothing()
    {
        var (token, buyer) = NewBuyer();
        Assert.Equal(201, (await api.PostNoteAsync(token, "note-2", "first")).Status);

        var other = await api.PostNoteAsync(token, "note-2", "second");

        Assert.Equal(422, other.Status);
        Assert.Equal(Problems.IdempotencyKeyReused, other.ProblemType);
        Assert.Equal(0, await NotesAsync("second", buyer));
        // The scope is the caller: another buyer's same key is a new request.
        Assert.Equal(201, (await api.PostNoteAsync(NewBuyer().Token, "note-2", "second")).Status);
    }

    [Fact]
    public async Task A_request_in_flight_answers_409_with_Retry_After_to_its_repeats_and_then_its_answer_is_replayed()
    {
        var (token, buyer) = NewBuyer();
        api.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<ApiAnswer> first;
        try
        {
            first = api.PostNoteAsync(token, "note-3", "slow");
            await Eventually.TrueAsync(async () => await NotesAsync("slow", buyer) == 1, TimeSpan.FromSeconds(10), "the first request claimed its key");

            var repeat = await api.PostNoteAsync(token, "note-3", "slow");

            Assert.Equal(409, repeat.Status);
            Assert.Equal(Problems.IdempotencyKeyInUse, repeat.ProblemType);
            // The time left on the owner's 30 s lease, not a generic "try again soon".
            Assert.True(int.TryParse(repeat.Headers["Retry-After"], out var seconds) && seconds is > 20 and <= 30,
                $"Retry-After: {repeat.Headers["Retry-After"]}");
        }
        finally
        {
            api.Hold.TrySetResult();
            api.Hold = null;
        }

        var answer = await first;
        Assert.Equal(201, answer.Status);
        var replay = await api.PostNoteAsync(token, "note-3", "slow");
        Assert.Equal(answer.Body, replay.Body);
        Assert.Equal("true", replay.Headers["Idempotent-Replayed"]);
        Assert.Equal(1, await NotesAsync("slow", buyer));
    }

    [Fact]
    public async Task After_the_owner_dies_a_retry_waits_for_its_lease_then_takes_over_the_same_resource_once()
    {
        var (token, buyer) = NewBuyer();
        var resumes = api.Resumes;
        api.CrashNextRun = true;

        var crashed = await api.PostNoteAsync(token, "note-4", "orphan");
        var tooEarly = await api.PostNoteAsync(token, "note-4", "orphan");
        ApiAnswer resumed, replay;
        api.Clock.Offset = TimeSpan.FromMinutes(1); // past the default 30 s lease
        try
        {
            resumed = await api.PostNoteAsync(token, "note-4", "orphan");
            replay = await api.PostNoteAsync(token, "note-4", "orphan");
        }
        finally
        {
            api.Clock.Offset = TimeSpan.Zero;
        }

        Assert.Equal(500, crashed.Status);
        Assert.Equal(409, tooEarly.Status);
        Assert.Equal(201, resumed.Status);
        Assert.True(resumed.Json.GetProperty("resumed").GetBoolean());
        var noteId = await NoteIdAsync("orphan");
        Assert.Equal(noteId, resumed.Json.GetProperty("id").GetString());
        Assert.Equal(resumed.Body, replay.Body);
        Assert.Equal(resumes + 1, api.Resumes);
        Assert.Equal(1, await NotesAsync("orphan", buyer));
    }

    [Fact]
    public async Task With_Redis_down_PostgreSQL_alone_gives_the_same_answers()
    {
        var (token, buyer) = NewBuyer();
        await api.Redis.StopAsync();
        try
        {
            var first = await api.PostNoteAsync(token, "note-5", "offline");
            var again = await api.PostNoteAsync(token, "note-5", "offline");
            var other = await api.PostNoteAsync(token, "note-5", "other");

            Assert.Equal(201, first.Status);
            Assert.Equal(first.Body, again.Body);
            Assert.Equal("true", again.Headers["Idempotent-Replayed"]);
            Assert.Equal(422, other.Status);
            Assert.Equal(1, await NotesAsync("offline", buyer));
            Assert.Equal(0, await NotesAsync("other", buyer));
        }
        finally
        {
            await api.Redis.StartAsync();
        }

        // Back (reconnection is automatic, so wait for it with a deadline): answers are cached in Redis again.
        using var redis = await ConnectionMultiplexer.ConnectAsync(api.Redis.Configuration);
        var attempt = 0;
        await Eventually.TrueAsync(async () =>
        {
            var key = $"note-5-after-{attempt++}";
            Assert.Equal(201, (await api.PostNoteAsync(token, key, key)).Status);
            return await redis.GetDatabase().KeyExistsAsync(RedisKey(buyer, key));
        }, TimeSpan.FromSeconds(20), "the gate uses Redis again");
    }

    private static string RedisKey(string buyer, string key) => $"idem:buyer:{buyer}:{GatedNotesFixture.Route}:{key}";

    private (string Token, string Buyer) NewBuyer()
    {
        var buyer = "b_" + Guid.NewGuid().ToString("N")[..10];
        return (api.BuyerToken(buyer), buyer);
    }

    /// <summary>Notes with this text made under one of this buyer's keys (every test's buyer is new).</summary>
    private Task<long> NotesAsync(string text, string buyer) => api.ScalarAsync("""
        SELECT count(*) FROM test_gated_notes n JOIN idempotency_keys k ON k.payment_id = n.id
        WHERE n.text = @t AND k.scope = @scope
        """, ("t", text), ("scope", $"buyer:{buyer}:{GatedNotesFixture.Route}"));

    private async Task<string?> NoteIdAsync(string text)
    {
        await using var connection = await api.Postgres.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id::text FROM test_gated_notes WHERE text = @t", connection);
        command.Parameters.AddWithValue("t", text);
        return (string?)await command.ExecuteScalarAsync();
    }
}
