using Payrail.Hosting;

namespace Payrail.Gateway;

/// <summary>`payrail gateway`: the API gateway alone, serving until cancelled.</summary>
public static class GatewayCommand
{
    public static Task<int> RunAsync(IConfiguration configuration, CancellationToken cancellationToken) =>
        RoleCommand.RunAsync("gateway", () => GatewayHost.Build(configuration), cancellationToken);
}
