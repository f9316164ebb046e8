namespace Payrail.DevEnvironment;

/// <summary>
/// `up`'s children: starts each role under supervision, keeps <c>.payrail/run/up.json</c> current for `status`,
/// and stops them in the reverse order of starting (the roles before the stand-ins they call).
/// </summary>
public sealed class PlatformSupervisor(SupervisorOptions options, RunDirectory run, TextWriter terminal, TimeProvider time)
    : IAsyncDisposable
{
    private readonly object _stateGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<(SupervisedRole Role, Task Supervision)> _roles = [];
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    public void Start(RoleSpec spec)
    {
        var role = new SupervisedRole(spec, options, run, terminal, time, WriteState);
        // Under the state lock: a role already running writes the state (and reads this list) from its own thread.
        lock (_stateGate) _roles.Add((role, Task.Run(() => role.SuperviseAsync(_stopping.Token))));
    }

    /// <summary>Stops supervision (no more restarts), then each child: SIGTERM, the grace, SIGKILL.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync();
        await Task.WhenAll(_roles.Select(r => r.Supervision).ToList());
        // The roles in parallel first, then the stand-ins: a role stopping may still talk to pspsim or devkafka.
        var standIns = _roles.Where(r => PlatformRoles.IsStandIn(r.Role.Role)).Select(r => r.Role).ToList();
        await Task.WhenAll(_roles.Select(r => r.Role).Except(standIns).Select(r => r.StopAsync()));
        await Task.WhenAll(standIns.Select(r => r.StopAsync()));
    }

    private void WriteState()
    {
        lock (_stateGate)
        {
            var roles = _roles.Select(r => r.Role.Snapshot()).ToList();
            run.WriteState(new UpState(Environment.ProcessId, _startedAt, roles));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var (role, _) in _roles) role.Dispose();
        _stopping.Dispose();
    }
}
