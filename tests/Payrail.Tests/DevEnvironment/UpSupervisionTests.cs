using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Payrail.Auth;
using Payrail.DevEnvironment;
using Payrail.Merchants;
using Payrail.Testing;
using Xunit;

namespace Payrail.Tests.DevEnvironment;

/// <summary>
/// `payrail up` as an operator runs it: a real process in a project root of its own, every port free and configured,
/// with the test's PostgreSQL and Redis. Issue 8's supervision test: kill -9 of the api child, then status and down.
/// </summary>
public sealed class UpSupervisionTests(PostgresFixture postgres, RedisFixture redis)
    : IClassFixture<PostgresFixture>, IClassFixture<RedisFixture>, IAsyncLifetime
{
    private static readonly TimeSpan TestDeadline = TimeSpan.FromSeconds(150);
    private readonly string _root = Directory.CreateTempSubdirectory("payrail-up-").FullName;
    private readonly Dictionary<string, string> _environment = [];
    private readonly StringBuilder _upOutput = new();
    private readonly int _apiPort = FreePort.Next();
    private readonly int _pspSimPort = FreePort.Next();
    private Process? _up;
    private string _connectionString = "";

    private string RunPath => Path.Combine(_root, ".payrail", "run");
    private string ApiUrl => $"http://127.0.0.1:{_apiPort}";
    private string PspSimUrl => $"http://127.0.0.1:{_pspSimPort}";
    private readonly int _gatewayPort = FreePort.Next();
    private string GatewayUrl => $"http://127.0.0.1:{_gatewayPort}";
    private readonly int _dashboardPort = FreePort.Next();
    private string DashboardUrl => $"http://127.0.0.1:{_dashboardPort}";

    public async Task InitializeAsync()
    {
        _connectionString = await postgres.CreateDatabaseAsync();
        _environment["PAYRAIL_ROOT"] = _root;
        _environment["PAYRAIL__Postgres__ConnectionString"] = _connectionString;
        _environment["PAYRAIL__Redis__Configuration"] = redis.Configuration;
        _environment["PAYRAIL__PspSim__Url"] = PspSimUrl;
        _environment["PAYRAIL__Stripe__BaseUrl"] = PspSimUrl;
        _environment["PAYRAIL__Kafka__BootstrapServers"] = $"127.0.0.1:{FreePort.Next()}";
        _environment["PAYRAIL__Api__Urls"] = ApiUrl;
        _environment["PAYRAIL__Api__ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}";
        _environment["PAYRAIL__Worker__ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}";
        _environment["PAYRAIL__Gateway__Urls"] = GatewayUrl;
        _environment["PAYRAIL__Gateway__ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}";
        _environment["PAYRAIL__Dashboard__Urls"] = DashboardUrl;
        _environment["PAYRAIL__Dashboard__ManagementUrls"] = $"http://127.0.0.1:{FreePort.Next()}";
        // The payment cut by the kill is taken over by its retry once its lease expired: 2 s instead of 30 s.
        _environment["PAYRAIL__Idempotency__LeaseMs"] = "2000";
    }

    [Fact]
    public async Task Killed_api_is_restarted_ready_within_10_s_and_the_retried_payment_is_charged_once_then_status_and_down_work()
    {
        using var deadline = new CancellationTokenSource(TestDeadline);
        var cancel = deadline.Token;
        _up = Start(_upOutput, "up");
        // The first start is not what is tested (the restart below is, within 10 s): six .NET processes start at once,
        // and on a 2-core machine busy with the rest of the suite that once took longer than 45 s.
        await Eventually.TrueAsync(() => IsReadyAsync(ApiUrl), TimeSpan.FromSeconds(90), "the api child answers /readyz 200\n" + UpOutput());

        // A payment in flight at the PSP when its api process is killed: pspsim holds the call 4 s, then creates the
        // PaymentIntent although its client is gone. Only the same PSP key on the retry keeps that one charge.
        await PostJsonAsync(PspSimUrl + "/_sim/faults",
            """{ "mode": "hold_key", "count": 1, "path_prefix": "/v1/payment_intents", "method": "POST", "duration_ms": 4000 }""", cancel);
        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var token = BuyerToken();
        var key = Guid.NewGuid().ToString();
        var body = JsonSerializer.Serialize(new { merchant_id = MerchantDirectory.DemoMerchantId, amount = 4200, currency = "USD",
            payment_method = "pm_card_visa", capture = "automatic" });
        var firstAttempt = PostPaymentAsync(http, token, key, body, cancel);
        await Eventually.TrueAsync(() => PspSimLog().Contains("hold_key injected on POST /v1/payment_intents", StringComparison.Ordinal),
            TimeSpan.FromSeconds(15), "the PSP call reaches pspsim");
        Assert.Equal(1, await PaymentCountAsync());
        var killedPid = ReadPid("api-0");
        var killedAt = Stopwatch.StartNew();
        Process.GetProcessById(killedPid).Kill();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => firstAttempt);

        await Eventually.TrueAsync(() => IsReadyAsync(ApiUrl), TimeSpan.FromSeconds(10), "the restarted api answers /readyz 200\n" + UpOutput());
        Assert.InRange(killedAt.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.NotEqual(killedPid, ReadPid("api-0"));
        // The worst case for a double charge: the PSP has charged for the cut request, Payrail has not recorded it.
        var paymentId = await PaymentIdAsync();
        await Eventually.TrueAsync(async () => await PaymentIntentCountAsync(paymentId, cancel) == 1, TimeSpan.FromSeconds(15),
            "pspsim finishes the request whose client was killed");
        HttpResponseMessage? retried = null;
        await Eventually.TrueAsync(async () =>
        {
            // 409 while the killed attempt's lease lives, 202 while pspsim still holds its request; then decided.
            retried = await PostPaymentAsync(http, token, key, body, cancel);
            return retried.StatusCode is not (HttpStatusCode.Conflict or HttpStatusCode.Accepted);
        }, TimeSpan.FromSeconds(20), "the retry takes the payment over and finishes it");
        Assert.Equal(HttpStatusCode.Created, retried!.StatusCode);
        using var payment = JsonDocument.Parse(await retried.Content.ReadAsStringAsync(cancel));
        Assert.Equal("captured", payment.RootElement.GetProperty("status").GetString());
        Assert.Equal(paymentId, payment.RootElement.GetProperty("id").GetString());
        Assert.Equal(1, await PaymentCountAsync());
        Assert.Equal(1, await PaymentIntentCountAsync(paymentId, cancel));

        // A second `up` says so, exits 1 and leaves the first one running.
        var upPid = ReadPid("up");
        var pids = RolePids();
        var second = await RunAsync(cancel, "up");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("already running", second.Output);
        Assert.Equal(upPid, ReadPid("up"));
        Assert.Equal(pids, RolePids());
        Assert.True(await IsReadyAsync(ApiUrl));

        // The roles no request waits on run nicer than `up` (Supervisor:AsyncRolesNice, 10), those that answer a payment
        // as `up` does; each pid file names the role's own process (nice execs it), the one whose threads carry the value.
        var upNice = PlatformStatus.Niceness(upPid)!.Value;
        foreach (var role in new[] { "worker", "dashboard", "devkafka" }) Assert.Equal(Math.Min(upNice + 10, 19), PlatformStatus.Niceness(pids[role]));
        foreach (var role in new[] { "api-0", "gateway", "pspsim" }) Assert.Equal(upNice, PlatformStatus.Niceness(pids[role]));
        Assert.StartsWith("dotnet\0", File.ReadAllText($"/proc/{pids["worker"]}/cmdline"), StringComparison.Ordinal);

        CliRun status = new(-1, "");
        await Eventually.TrueAsync(async () => (status = await RunAsync(cancel, "status")).ExitCode == 0, TimeSpan.FromSeconds(20),
            "status exits 0 once every role is up");
        foreach (var role in new[] { "pspsim", "devkafka", "api-0", "worker", "gateway", "dashboard" }) Assert.Contains(role, status.Output);
        Assert.Contains("nice", status.Output);
        // The dashboard `up` started serves its sign-in page, with the development sign-in (up's key is the dev key).
        Assert.Contains("/signin/dev", await http.GetStringAsync($"{DashboardUrl}/signin", cancel));
        // The README's traffic goes through the gateway `up` started, in front of the API instance it started.
        using (var viaGateway = new HttpRequestMessage(HttpMethod.Get, $"{GatewayUrl}/v1/payments/{paymentId}"))
        {
            viaGateway.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var answer = await http.SendAsync(viaGateway, cancel);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        await Eventually.TrueAsync(async () => (status = await RunAsync(cancel, "status")).Output.Contains("sweeper", StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "status shows the worker's sweeper loop once it ran");

        var down = await RunAsync(cancel, "down");
        Assert.Equal(0, down.ExitCode);
        await _up.WaitForExitAsync(cancel);
        Assert.Equal(0, _up.ExitCode);
        Assert.All(pids.Values.Append(upPid), pid => Assert.False(RunDirectory.IsRunning(pid), $"pid {pid} still runs"));
        Assert.Empty(Directory.GetFiles(RunPath, "*.pid"));

        var after = await RunAsync(cancel, "status");
        Assert.Equal(1, after.ExitCode);
        Assert.Contains(PlatformStatus.NotRunning, after.Output);
        Assert.Equal(1, (await RunAsync(cancel, "down")).ExitCode);
    }

    [Fact]
    public async Task Status_without_a_running_up_says_so_and_exits_1()
    {
        using var deadline = new CancellationTokenSource(TestDeadline);

        var status = await RunAsync(deadline.Token, "status");

        Assert.Equal(1, status.ExitCode);
        Assert.Contains(PlatformStatus.NotRunning, status.Output);
    }

    private sealed record CliRun(int ExitCode, string Output);

    private Process Start(StringBuilder output, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add(LocalPlatform.SiblingBinary("Payrail", "payrail.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // Only this test's settings: nothing inherited may point the children at another platform's ports.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("PAYRAIL", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        foreach (var (name, value) in _environment) info.Environment[name] = value;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;

        void Append(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
        }
    }

    private async Task<CliRun> RunAsync(CancellationToken cancel, params string[] args)
    {
        var output = new StringBuilder();
        using var process = Start(output, args);
        try
        {
            await process.WaitForExitAsync(cancel);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        lock (output) return new CliRun(process.ExitCode, output.ToString());
    }

    private string UpOutput()
    {
        lock (_upOutput) return _upOutput.ToString();
    }

    private string PspSimLog()
    {
        using var stream = new FileStream(Path.Combine(_root, ".payrail", "logs", "pspsim.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    private int ReadPid(string role) => OsCommand.ReadPidFile(Path.Combine(RunPath, role + ".pid"));

    private Dictionary<string, int> RolePids() => Directory.GetFiles(RunPath, "*.pid")
        .Where(f => Path.GetFileName(f) != "up.pid")
        .ToDictionary(f => Path.GetFileNameWithoutExtension(f), OsCommand.ReadPidFile);

    private static async Task<bool> IsReadyAsync(string baseUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await http.GetAsync(baseUrl + "/readyz");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private string BuyerToken()
    {
        var auth = AuthOptions.ForDevTool(new ConfigurationBuilder().Build(), new DevSecrets(Path.Combine(_root, ".payrail", "secrets")));
        return DevTokens.Issue(auth, Roles.Buyer, "buyer_" + Guid.NewGuid().ToString("N")[..12], null, TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow);
    }

    private async Task<HttpResponseMessage> PostPaymentAsync(HttpClient http, string token, string key, string body, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiUrl + "/v1/payments")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await http.SendAsync(request, cancel);
    }

    private static async Task PostJsonAsync(string url, string json, CancellationToken cancel)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"), cancel);
        response.EnsureSuccessStatusCode();
    }

    private async Task<long> PaymentCountAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM payments", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<string> PaymentIdAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id::text FROM payments", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>PaymentIntents at this up's pspsim created for the payment (Payrail tags each with its payment id).</summary>
    private async Task<int> PaymentIntentCountAsync(string paymentId, CancellationToken cancel)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sk_test_payrail_dev");
        using var list = JsonDocument.Parse(await http.GetStringAsync(PspSimUrl + "/v1/payment_intents?limit=100", cancel));
        Assert.False(list.RootElement.GetProperty("has_more").GetBoolean());
        return list.RootElement.GetProperty("data").EnumerateArray()
            .Count(i => i.GetProperty("metadata").TryGetProperty("payrail_payment_id", out var id) && id.GetString() == paymentId);
    }

    public Task DisposeAsync()
    {
        // Whatever happened above: no process of this test outlives it.
        var pids = Directory.Exists(RunPath) ? RolePids().Values.ToList() : [];
        if (_up is { HasExited: false }) _up.Kill(entireProcessTree: true);
        foreach (var pid in pids.Where(RunDirectory.IsRunning)) OsCommand.ForceKill(pid);
        _up?.Dispose();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
        return Task.CompletedTask;
    }
}
