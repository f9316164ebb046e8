using System.Runtime.InteropServices;

namespace Payrail.DevEnvironment;

/// <summary>
/// `payrail up`: PostgreSQL and Redis (the configured ones, or project-local servers started here), then every role
/// and stand-in as a supervised child process (<see cref="PlatformSupervisor"/>); serves until SIGTERM, Ctrl-C or
/// `payrail down`, then stops the children and the local servers.
/// </summary>
public static class LocalPlatform
{
    public static async Task<int> RunAsync(IConfiguration configuration)
    {
        var run = RunDirectory.ForProject();
        // Before anything else: a second `up` must not start (or stop) the servers of the running one.
        if (run.RunningUpPid() is { } runningPid) return AlreadyRunning(runningPid);
        using var upLock = run.TryLock();
        if (upLock is null) return AlreadyRunning(run.RunningUpPid());
        SupervisorOptions options;
        try
        {
            options = SupervisorOptions.From(configuration);
            if (PlatformRoles.PortConflicts(configuration).ToList() is { Count: > 0 } conflicts)
                throw new InvalidOperationException(string.Join("; ", conflicts));
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }

        using var shutdown = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        run.WritePid(run.UpPidFile, Environment.ProcessId);
        try
        {
            return await ServeAsync(configuration, options, run, shutdown.Token);
        }
        finally
        {
            RunDirectory.Delete(run.StateFile);
            RunDirectory.Delete(run.UpPidFile);
        }

        // Handled here, not by the command framework, whose forced exit after a few seconds would cut the children's grace.
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            shutdown.Cancel();
        }
    }

    private static int AlreadyRunning(int? pid)
    {
        Console.Error.WriteLine($"Payrail is already running{(pid is null ? "" : $" (up pid {pid})")}: `./payrail status` shows it, `./payrail down` stops it.");
        return 1;
    }

    private static async Task<int> ServeAsync(IConfiguration configuration, SupervisorOptions options, RunDirectory run, CancellationToken shutdown)
    {
        var secrets = DevSecrets.ForProject();
        LocalPostgres? postgres = null;
        LocalRedis? redis = null;
        try
        {
            if (!LocalServers.IsPostgresConfigured(configuration))
            {
                postgres = LocalServers.Postgres(configuration, secrets);
                configuration["Postgres:ConnectionString"] = await LocalServers.StartPostgresAsync(postgres, secrets, Console.Out, shutdown);
                Console.WriteLine($"postgres   127.0.0.1:{postgres.Port} (.payrail/pg)");
            }
            else
            {
                await LocalServers.MigrateAndSeedAsync(configuration["Postgres:ConnectionString"]!, Console.Out, shutdown);
            }
            if (!LocalServers.IsRedisConfigured(configuration))
            {
                redis = LocalServers.Redis(configuration, secrets);
                await redis.StartAsync(shutdown);
                configuration["Redis:Configuration"] = redis.Configuration;
                Console.WriteLine($"redis      127.0.0.1:{redis.Port} (.payrail/redis)");
            }
            if (!shutdown.IsCancellationRequested) await SuperviseRolesAsync(configuration, options, run, shutdown);
            return 0;
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            // Stopped on the way out even after Ctrl-C: a clean shutdown, not a crash recovery next time.
            if (redis is not null) await redis.StopAsync(CancellationToken.None);
            if (postgres is not null) await postgres.StopAsync(CancellationToken.None);
        }
    }

    private static async Task SuperviseRolesAsync(IConfiguration configuration, SupervisorOptions options, RunDirectory run, CancellationToken shutdown)
    {
        var environment = ChildEnvironment(configuration);
        await using var supervisor = new PlatformSupervisor(options, run, Console.Out, TimeProvider.System);
        supervisor.Start(PlatformRoles.PspSimSpec(configuration, environment));
        supervisor.Start(PlatformRoles.DevKafkaSpec(configuration, environment) with { Nice = options.AsyncRolesNice });
        // The roles start once pspsim answers, so the first payments do not meet a refused connection.
        await Payrail.Api.ApiCommand.WaitUntilListeningAsync(new Uri(PlatformRoles.PspSimUrl(configuration)),
            TimeSpan.FromMilliseconds(options.DependencyWaitMs), shutdown);
        var apiEnvironment = WithDefaultReturnUrl(configuration, await WithWebhookSecretAsync(configuration, environment, shutdown));
        foreach (var api in PlatformRoles.ApiSpecs(configuration, apiEnvironment)) supervisor.Start(api);
        // The API, the gateway and pspsim answer payments; the others lag behind a busy machine instead (AsyncRolesNice).
        supervisor.Start(PlatformRoles.WorkerSpec(configuration, environment) with { Nice = options.AsyncRolesNice });
        supervisor.Start(PlatformRoles.GatewaySpec(configuration, environment));
        supervisor.Start(PlatformRoles.DashboardSpec(configuration, environment) with { Nice = options.AsyncRolesNice });
        Console.WriteLine("Payrail is up. Ctrl-C or `./payrail down` stops everything; `./payrail status` shows each role.");
        try
        {
            await Task.Delay(Timeout.Infinite, shutdown);
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine("stopping   every role, then Redis and PostgreSQL");
        await supervisor.StopAsync();
    }

    /// <summary>
    /// The API roles' environment: the signing secret of the webhook endpoint registered with the PSP for the first API
    /// instance's receiver, added after any <c>Stripe:WebhookSecrets</c> configured (those stay valid: rotation).
    /// </summary>
    private static async Task<Dictionary<string, string>> WithWebhookSecretAsync(
        IConfiguration configuration, Dictionary<string, string> environment, CancellationToken shutdown)
    {
        var apiUrl = ReachableApiUrl(configuration);
        var pspUrl = configuration["Stripe:BaseUrl"] is { Length: > 0 } b ? b : PlatformRoles.PspSimUrl(configuration);
        var receiverUrl = apiUrl + Payrail.Webhooks.WebhookEndpoints.StripeRoute;
        var secret = await WebhookRegistration.EnsureAsync(pspUrl, configuration["Stripe:ApiKey"] ?? "", receiverUrl,
            DevSecrets.ForProject(), Console.Out, shutdown);
        if (secret is null) return environment;
        var index = configuration.GetSection("Stripe:WebhookSecrets").GetChildren().Count();
        return new Dictionary<string, string>(environment) { [$"PAYRAIL__Stripe__WebhookSecrets__{index}"] = secret };
    }

    /// <summary>
    /// Without a configured <c>Stripe:ReturnUrl</c> the PSP answers 3-D Secure with an SDK action and no page to send the
    /// buyer to; under `up` the buyer comes back to the API's own small page (<see cref="Payrail.Payments.ThreeDSecureReturnPage"/>),
    /// so a 3-D Secure payment's answer carries <c>next_action.redirect_to_url</c> out of the box.
    /// </summary>
    private static Dictionary<string, string> WithDefaultReturnUrl(IConfiguration configuration, Dictionary<string, string> environment) =>
        configuration["Stripe:ReturnUrl"] is { Length: > 0 } ? environment
            : new Dictionary<string, string>(environment)
            {
                ["PAYRAIL__Stripe__ReturnUrl"] = ReachableApiUrl(configuration) + Payrail.Payments.ThreeDSecureReturnPage.Route,
            };

    /// <summary>The first API instance's first public URL, as another process on this machine reaches it.</summary>
    private static string ReachableApiUrl(IConfiguration configuration)
    {
        var apiUrl = (configuration["Api:Urls"] is { Length: > 0 } u ? u : Payrail.Api.ApiHost.DefaultUrls)
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].TrimEnd('/');
        // A listen-on-every-interface address is no address to send to: the PSP sandbox runs on this machine.
        foreach (var any in new[] { "://*:", "://+:", "://0.0.0.0:", "://[::]:" }) apiUrl = apiUrl.Replace(any, "://127.0.0.1:");
        return apiUrl;
    }

    /// <summary>
    /// What every child gets besides this process's own environment (PAYRAIL__ settings included): the servers resolved
    /// above and the project root. Passwords travel here, never on a command line. Without Auth:SigningKey the API
    /// checks tokens against the generated development key, which `payrail token` signs with: `up` is the one place
    /// where that key is allowed without an explicit Auth:AllowDevKey.
    /// </summary>
    private static Dictionary<string, string> ChildEnvironment(IConfiguration configuration) => new()
    {
        ["PAYRAIL_ROOT"] = Path.GetFullPath(PayrailConfiguration.RootDirectory),
        ["PAYRAIL__Postgres__ConnectionString"] = configuration["Postgres:ConnectionString"]!,
        ["PAYRAIL__Redis__Configuration"] = configuration["Redis:Configuration"]!,
        ["PAYRAIL__Auth__AllowDevKey"] = "true",
        // A child's stdout is a pipe, so "auto" would pick JSON: the children follow what `up` itself writes to.
        ["PAYRAIL__Logging__Format"] = configuration["Logging:Format"] is { Length: > 0 } format ? format
            : Console.IsOutputRedirected ? "json" : "text",
    };

    /// <summary>Path of another project's build output, beside this one under artifacts/bin.</summary>
    public static string SiblingBinary(string project, string file)
    {
        var configurationDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Path.Combine(configurationDir.Parent!.Parent!.FullName, project, configurationDir.Name, file);
    }
}
