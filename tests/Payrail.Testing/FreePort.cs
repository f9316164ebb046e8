using System.Net;
using System.Net.Sockets;

namespace Payrail.Testing;

public static class FreePort
{
    private const int MaxAttempts = 100;

    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A loopback TCP port that was free a moment ago (the OS picks it), never one this process was given before: the OS
    /// may pick a port again as soon as its listener closes, and a host given one port for two settings failed at start
    /// (CI: Api:ManagementUrls on the port of Api:Urls).
    /// </summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Given)
            {
                if (Given.Add(port)) return port;
            }
        }
        throw new InvalidOperationException($"no loopback port this process was not given before in {MaxAttempts} tries");
    }
}
