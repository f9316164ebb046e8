using Payrail.Hosting;

namespace Payrail.Dashboard;

/// <summary>`payrail dashboard`: the merchant dashboard alone, serving until cancelled.</summary>
public static class DashboardCommand
{
    public static Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken) =>
        RoleCommand.RunAsync("dashboard", () => DashboardHost.Build(configuration), cancellationToken);
}
