using System.Reflection;
using System.Runtime.Loader;

namespace Ckpt.Extension.Visualisation;

/// <summary>
/// Loads Ckpt.Charts with Plotly.NET and the FSharp.Core it was built against from the package's
/// <c>charts/</c> folder, isolated from the host. The notebook host (dotnet-interactive 1.0.712001) has already
/// loaded FSharp.Core 10.0.0.0 into the default context, and Plotly.NET 6.0.0 needs 10.1.0.0: loaded beside the
/// host, every chart call fails with a FileLoadException. Assemblies not in the folder (System.*) come from the
/// default context, so only framework types cross the boundary.
/// </summary>
sealed class ChartsLoadContext(string folder) : AssemblyLoadContext("Ckpt.Charts", isCollectible: false)
{
    public string Folder { get; } = folder;

    protected override Assembly? Load(AssemblyName name)
    {
        var path = Path.Combine(Folder, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
