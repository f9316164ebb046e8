using Microsoft.Extensions.Configuration;
using Payrail.DevEnvironment;
using Xunit;

namespace Payrail.Tests.DevEnvironment;

/// <summary>`up`'s restart decision, its bounds and its role layout, without processes.</summary>
public sealed class SupervisorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly SupervisorOptions Options = new()
    {
        RestartBackoffMs = 500, MaxRestartBackoffMs = 30_000, MaxRestartsInWindow = 5, CrashLoopWindowSeconds = 60,
    };

    private static DateTimeOffset[] ExitsEverySecond(int count) => [.. Enumerable.Range(0, count).Select(i => Now.AddSeconds(-i))];

    [Fact]
    public void A_first_exit_restarts_after_the_initial_backoff()
    {
        var decision = RestartPolicy.Decide([Now], Now, Options);

        Assert.Equal(new RestartDecision.Restart(TimeSpan.FromMilliseconds(500)), decision);
    }

    [Fact]
    public void A_role_that_refused_its_settings_is_not_restarted()
    {
        var decision = RestartPolicy.Decide([Now], Now, Options, Payrail.Hosting.RoleCommand.BadConfigurationExitCode);

        Assert.IsType<RestartDecision.BadSettings>(decision);
    }

    [Fact]
    public void Each_further_exit_within_the_window_doubles_the_backoff()
    {
        var delays = Enumerable.Range(1, 5).Select(n => RestartPolicy.Decide(ExitsEverySecond(n), Now, Options)).ToList();

        Assert.Equal([500, 1_000, 2_000, 4_000, 8_000],
            delays.Select(d => (int)Assert.IsType<RestartDecision.Restart>(d).Delay.TotalMilliseconds));
    }

    [Fact]
    public void The_backoff_never_exceeds_its_cap()
    {
        var options = new SupervisorOptions { RestartBackoffMs = 500, MaxRestartBackoffMs = 3_000, MaxRestartsInWindow = 1_000 };

        Assert.Equal(TimeSpan.FromMilliseconds(3_000), RestartPolicy.Backoff(4, options));
        Assert.Equal(TimeSpan.FromMilliseconds(3_000), RestartPolicy.Backoff(1_000, options));
    }

    [Fact]
    public void More_exits_than_MaxRestartsInWindow_within_the_window_is_a_crash_loop()
    {
        Assert.IsType<RestartDecision.Restart>(RestartPolicy.Decide(ExitsEverySecond(5), Now, Options));

        var decision = RestartPolicy.Decide(ExitsEverySecond(6), Now, Options);

        Assert.Equal(new RestartDecision.GiveUp(6), decision);
    }

    [Fact]
    public void Exits_older_than_the_window_count_neither_towards_a_crash_loop_nor_the_backoff()
    {
        // A role that died once a minute for hours is restarted every time, after the first delay.
        DateTimeOffset[] exits = [.. Enumerable.Range(0, 100).Select(i => Now.AddSeconds(-61 * i))];

        Assert.Equal(new RestartDecision.Restart(TimeSpan.FromMilliseconds(500)), RestartPolicy.Decide(exits, Now, Options));
    }

    [Fact]
    public void Forget_keeps_only_the_exits_within_the_window()
    {
        var exits = new List<DateTimeOffset> { Now.AddSeconds(-120), Now.AddSeconds(-60), Now.AddSeconds(-59), Now };

        RestartPolicy.Forget(exits, Now, Options);

        Assert.Equal([Now.AddSeconds(-59), Now], exits);
    }

    [Fact]
    public void Broken_supervisor_settings_are_each_named()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Supervisor:RestartBackoffMs"] = "0",
            ["Supervisor:MaxRestartsInWindow"] = "0",
            ["Supervisor:MaxLogBytes"] = "10",
            ["Supervisor:AsyncRolesNice"] = "20",
        }).Build();

        var problem = Assert.Throws<InvalidOperationException>(() => SupervisorOptions.From(configuration)).Message;

        Assert.Contains("Supervisor:RestartBackoffMs", problem);
        Assert.Contains("Supervisor:MaxRestartsInWindow", problem);
        Assert.Contains("Supervisor:MaxLogBytes", problem);
        Assert.Contains("Supervisor:AsyncRolesNice", problem);
        Assert.Empty(new SupervisorOptions().Problems());
    }

    [Fact]
    public void Api_instance_i_listens_on_the_configured_ports_plus_100_i()
    {
        var configuration = Configuration(("Api:Instances", "3"), ("Api:Urls", "http://127.0.0.1:18081"),
            ("Api:ManagementUrls", "http://127.0.0.1:19081"));

        var apis = PlatformRoles.ApiSpecs(configuration, new Dictionary<string, string>()).ToList();

        Assert.Equal(["api-0", "api-1", "api-2"], apis.Select(a => a.Role));
        Assert.Equal(["http://127.0.0.1:18081", "http://127.0.0.1:18181", "http://127.0.0.1:18281"],
            apis.Select(a => a.Environment["PAYRAIL__Api__Urls"]));
        Assert.Equal("http://127.0.0.1:19281/readyz", apis[2].HealthUrl);
    }

    [Fact]
    public void Two_roles_on_one_port_are_refused_with_both_settings_named()
    {
        var configuration = Configuration(("Api:Instances", "2"), ("Api:ManagementUrls", "http://127.0.0.1:9081"),
            ("Worker:ManagementUrls", "http://127.0.0.1:9181"));

        var conflict = Assert.Single(PlatformRoles.PortConflicts(configuration));

        Assert.Contains("Worker:ManagementUrls", conflict);
        Assert.Contains("Api:ManagementUrls (api-1)", conflict);
        Assert.Empty(PlatformRoles.PortConflicts(Configuration(("Api:Instances", "1"))));
        Assert.Empty(PlatformRoles.PortConflicts(Configuration(("Api:Instances", PlatformRoles.MaxApiInstances.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
    }

    [Fact]
    public void A_role_log_past_its_size_limit_is_rotated_and_bounded()
    {
        var directory = Directory.CreateTempSubdirectory("payrail-rolelog-").FullName;
        try
        {
            var path = Path.Combine(directory, "api-0.log");
            using (var log = new RoleLog("api-0", path, maxBytes: 4_096, TextWriter.Null))
            {
                for (var i = 0; i < 1_000; i++) log.Line($"line {i:0000} " + new string('x', 90));
            }

            Assert.InRange(new FileInfo(path).Length, 1, 4_096);
            Assert.InRange(new FileInfo(path + ".1").Length, 4_096, 4_096 + 200);
            Assert.EndsWith("line 0999 " + new string('x', 90), File.ReadAllLines(path)[^1]);
            Assert.Equal(["api-0.log", "api-0.log.1"], Directory.GetFiles(directory).Select(Path.GetFileName).Order());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}
