namespace Payrail.DevEnvironment;

/// <summary>
/// How `up` starts one supervised child. Settings (connection strings with passwords included) travel in
/// <paramref name="Environment"/>, never in <paramref name="Args"/>: any user can read another's command line in ps.
/// </summary>
/// <param name="HealthUrl">http(s) URL answered with 200 when ready, tcp://host:port when accepting connections is all, or null.</param>
/// <param name="Nice">Added to `up`'s own niceness for the child (0: the same as `up`); see <see cref="SupervisorOptions.AsyncRolesNice"/>.</param>
public sealed record RoleSpec(
    string Role,
    string FileName,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment,
    string? HealthUrl,
    int Nice = 0);
