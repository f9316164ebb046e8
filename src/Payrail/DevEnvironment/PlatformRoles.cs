using System.Globalization;

namespace Payrail.DevEnvironment;

/// <summary>
/// The children of `up` and how each one is started: pspsim and devkafka (the stand-ins), <c>Api:Instances</c>
/// instances of `payrail api` (instance i on the ports of Api:Urls and Api:ManagementUrls plus 100·i, so a second
/// instance lands on 8181/9181, clear of DESIGN.md's 808x and 909x ports), `payrail worker`, `payrail gateway`
/// (8080 and 9080) in front of the API instances, and `payrail dashboard` (8082 and 9083).
/// </summary>
public static class PlatformRoles
{
    public const string PspSim = "pspsim";
    public const string DevKafka = "devkafka";
    public const string Worker = "worker";
    public const string Gateway = "gateway";
    public const string Dashboard = "dashboard";
    public const int MaxApiInstances = 8;
    /// <summary>Port distance between API instances: 8 instances span 8081..8781, below the 9081 management port.</summary>
    public const int InstancePortStride = 100;
    /// <summary>The worker's management listener (health, later its loops).</summary>
    public static string DefaultWorkerManagementUrls => Payrail.Hosting.PayrailRole.Worker.ManagementDefaultUrls;

    public static bool IsStandIn(string role) => role is PspSim or DevKafka;

    public static string ApiRole(int instance) => "api-" + instance.ToString(CultureInfo.InvariantCulture);

    public static int ApiInstances(IConfiguration configuration)
    {
        var raw = configuration["Api:Instances"];
        if (string.IsNullOrWhiteSpace(raw)) return 1;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var instances) || instances is < 1 or > MaxApiInstances)
            throw new InvalidOperationException($"Api:Instances must be a whole number within [1, {MaxApiInstances}].");
        return instances;
    }

    public static RoleSpec PspSimSpec(IConfiguration configuration, IReadOnlyDictionary<string, string> environment) => new(
        PspSim, "dotnet",
        [Sibling("PspSim", "pspsim.dll"), "--urls", PspSimUrl(configuration), "--data-dir", Path.Combine(PayrailConfiguration.StateDirectory, "pspsim")],
        environment, PspSimUrl(configuration).TrimEnd('/') + "/healthz");

    public static RoleSpec DevKafkaSpec(IConfiguration configuration, IReadOnlyDictionary<string, string> environment)
    {
        var bootstrap = configuration["Kafka:BootstrapServers"] is { Length: > 0 } configured ? configured : "127.0.0.1:9092";
        var port = bootstrap[(bootstrap.LastIndexOf(':') + 1)..];
        return new RoleSpec(DevKafka, "dotnet",
            [Sibling("DevKafka", "devkafka.dll"), "--port", port, "--data-dir", Path.Combine(PayrailConfiguration.StateDirectory, "kafka")],
            environment, "tcp://127.0.0.1:" + port);
    }

    public static IEnumerable<RoleSpec> ApiSpecs(IConfiguration configuration, IReadOnlyDictionary<string, string> environment)
    {
        var urls = configuration["Api:Urls"] is { Length: > 0 } u ? u : Payrail.Api.ApiHost.DefaultUrls;
        var managementUrls = configuration["Api:ManagementUrls"] is { Length: > 0 } m ? m : Payrail.Hosting.ManagementListener.DefaultUrls;
        for (var i = 0; i < ApiInstances(configuration); i++)
        {
            var instanceManagement = ShiftPorts(managementUrls, i * InstancePortStride, "Api:ManagementUrls");
            var own = new Dictionary<string, string>(environment)
            {
                ["PAYRAIL__Api__Urls"] = ShiftPorts(urls, i * InstancePortStride, "Api:Urls"),
                ["PAYRAIL__Api__ManagementUrls"] = instanceManagement,
            };
            yield return new RoleSpec(ApiRole(i), "dotnet", [PayrailDll, "api"], own, FirstUrl(instanceManagement) + "/readyz");
        }
    }

    /// <summary>
    /// The worker's .NET runtime settings (under `up` and `payrail bench worker`; a deployment sets them the same way).
    /// Its thread-pool threads spun in sched_yield between work items: a fifth of the worker's CPU samples (`perf`) at
    /// 200 payments/s on two busy cores. The worker's loops can spare the few microseconds of a wake-up, so its pool
    /// threads sleep at once (README "The worker's CPU per event").
    /// </summary>
    public static IReadOnlyDictionary<string, string> WorkerRuntime { get; } = new Dictionary<string, string>
    {
        ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0",
    };

    public static RoleSpec WorkerSpec(IConfiguration configuration, IReadOnlyDictionary<string, string> environment)
    {
        var management = configuration["Worker:ManagementUrls"] is { Length: > 0 } w ? w : DefaultWorkerManagementUrls;
        var own = new Dictionary<string, string>(environment);
        foreach (var (name, value) in WorkerRuntime) own.TryAdd(name, value);
        return new RoleSpec(Worker, "dotnet", [PayrailDll, "worker"], own, FirstUrl(management) + "/readyz");
    }

    /// <summary>
    /// `payrail gateway` in front of the API instances this `up` starts (their first public URL each), unless
    /// Gateway:ApiUrls names others. Ready when its management listener answers /readyz.
    /// </summary>
    public static RoleSpec GatewaySpec(IConfiguration configuration, IReadOnlyDictionary<string, string> environment)
    {
        var own = new Dictionary<string, string>(environment);
        if (string.IsNullOrWhiteSpace(configuration["Gateway:ApiUrls"]) || configuration["Gateway:ApiUrls"] == DefaultGatewayApiUrls)
            own["PAYRAIL__Gateway__ApiUrls"] = string.Join(';', ApiSpecs(configuration, environment).Select(a => FirstUrl(a.Environment["PAYRAIL__Api__Urls"])));
        return new RoleSpec(Gateway, "dotnet", [PayrailDll, "gateway"], own, FirstUrl(GatewayManagementUrls(configuration)) + "/readyz");
    }

    /// <summary>
    /// `payrail dashboard` (8082, management 9083), sending its actions through this `up`'s gateway unless
    /// Dashboard:ApiUrl names another API. Ready when its management listener answers /readyz.
    /// </summary>
    public static RoleSpec DashboardSpec(IConfiguration configuration, IReadOnlyDictionary<string, string> environment)
    {
        var own = new Dictionary<string, string>(environment);
        var apiUrl = configuration["Dashboard:ApiUrl"];
        if (string.IsNullOrWhiteSpace(apiUrl) || apiUrl == new Payrail.Dashboard.DashboardWebOptions().ApiUrl)
            own["PAYRAIL__Dashboard__ApiUrl"] = FirstUrl(GatewayUrls(configuration)).Replace("://0.0.0.0:", "://127.0.0.1:");
        return new RoleSpec(Dashboard, "dotnet", [PayrailDll, "dashboard"], own, FirstUrl(DashboardManagementUrls(configuration)) + "/readyz");
    }

    private static string DashboardUrls(IConfiguration configuration) =>
        configuration["Dashboard:Urls"] is { Length: > 0 } d ? d : Payrail.Dashboard.DashboardWebOptions.DefaultUrls;

    private static string DashboardManagementUrls(IConfiguration configuration) =>
        configuration["Dashboard:ManagementUrls"] is { Length: > 0 } d ? d : Payrail.Hosting.PayrailRole.Dashboard.ManagementDefaultUrls;

    private static string DefaultGatewayApiUrls => new Payrail.Gateway.GatewayOptions().ApiUrls;

    private static string GatewayUrls(IConfiguration configuration) =>
        configuration["Gateway:Urls"] is { Length: > 0 } g ? g : Payrail.Gateway.GatewayOptions.DefaultUrls;

    private static string GatewayManagementUrls(IConfiguration configuration) =>
        configuration["Gateway:ManagementUrls"] is { Length: > 0 } g ? g : Payrail.Hosting.PayrailRole.Gateway.ManagementDefaultUrls;

    /// <summary>
    /// Two children on one port: the second would crash-loop on "address in use". With Api:Instances above 1 the
    /// instances' ports climb from Api:Urls and Api:ManagementUrls and may reach another role's configured port.
    /// </summary>
    public static IEnumerable<string> PortConflicts(IConfiguration configuration)
    {
        var listeners = new List<(string Owner, int Port)>
        {
            ("PspSim:Url", PortOf(PspSimUrl(configuration))),
            ("Kafka:BootstrapServers", PortOf("tcp://" + (configuration["Kafka:BootstrapServers"] is { Length: > 0 } k ? k : "127.0.0.1:9092"))),
            ("Worker:ManagementUrls", PortOf(FirstUrl(configuration["Worker:ManagementUrls"] is { Length: > 0 } w ? w : DefaultWorkerManagementUrls))),
        };
        foreach (var url in GatewayUrls(configuration).Split(';', StringSplitOptions.RemoveEmptyEntries))
            listeners.Add(("Gateway:Urls", PortOf(url)));
        foreach (var url in GatewayManagementUrls(configuration).Split(';', StringSplitOptions.RemoveEmptyEntries))
            listeners.Add(("Gateway:ManagementUrls", PortOf(url)));
        foreach (var url in DashboardUrls(configuration).Split(';', StringSplitOptions.RemoveEmptyEntries))
            listeners.Add(("Dashboard:Urls", PortOf(url)));
        foreach (var url in DashboardManagementUrls(configuration).Split(';', StringSplitOptions.RemoveEmptyEntries))
            listeners.Add(("Dashboard:ManagementUrls", PortOf(url)));
        foreach (var api in ApiSpecs(configuration, new Dictionary<string, string>()))
        {
            foreach (var url in api.Environment["PAYRAIL__Api__Urls"].Split(';', StringSplitOptions.RemoveEmptyEntries))
                listeners.Add(($"Api:Urls ({api.Role})", PortOf(url)));
            foreach (var url in api.Environment["PAYRAIL__Api__ManagementUrls"].Split(';', StringSplitOptions.RemoveEmptyEntries))
                listeners.Add(($"Api:ManagementUrls ({api.Role})", PortOf(url)));
        }
        return listeners.Where(l => l.Port > 0).GroupBy(l => l.Port).Where(g => g.Count() > 1)
            .Select(g => $"port {g.Key} is used by both {string.Join(" and ", g.Select(l => l.Owner))}; change one (or Api:Instances)");
    }

    private static int PortOf(string url)
    {
        try
        {
            return BindingAddress.Parse(url.Trim()).Port;
        }
        catch (FormatException)
        {
            return 0;
        }
    }

    public static string PspSimUrl(IConfiguration configuration) =>
        configuration["PspSim:Url"] is { Length: > 0 } url ? url : "http://127.0.0.1:8090";

    /// <summary>Every URL of a ';'-separated list with its port raised by <paramref name="offset"/> (instance i of a role).</summary>
    public static string ShiftPorts(string urls, int offset, string setting)
    {
        if (offset == 0) return urls;
        var shifted = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(url =>
        {
            var address = BindingAddress.Parse(url);
            if (address.IsUnixPipe || address.Port is < 1 || address.Port + offset > 65_535)
                throw new InvalidOperationException($"{setting} needs http(s) URLs with a fixed port, {offset} below 65535.");
            return $"{address.Scheme}://{address.Host}:{address.Port + offset}{address.PathBase}";
        });
        return string.Join(';', shifted);
    }

    private static string FirstUrl(string urls) => urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].TrimEnd('/');

    private static string PayrailDll => Path.Combine(AppContext.BaseDirectory, "payrail.dll");

    private static string Sibling(string project, string file) => LocalPlatform.SiblingBinary(project, file);
}
