using System.Reflection;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Ckpt.Models;

/// <summary>
/// Makes TorchSharp's native library loadable in hosts that load it straight from the NuGet cache (notebooks),
/// where the build's patch (build/LibTorchSharpGlibcFix.targets) never ran. TorchSharp 0.107.0's
/// libLibTorchSharp.so asks for GLIBCXX_3.4.32 for one marker symbol, which older libstdc++ (Debian 12) lacks;
/// a patched copy (that version need made weak, as the build does) goes to a temporary folder, libtorch's own
/// libraries are loaded first from the libtorch-cpu package so the copy's dependencies resolve by soname, and the
/// copy is loaded, so TorchSharp's later load of "libLibTorchSharp.so" finds it by soname. Programs built
/// from this repository need none of this; calling it there is harmless.
/// </summary>
public static class TorchNativeLibraries
{
    static readonly Lazy<string> Outcome = new(Load);

    /// <summary>Loads the natives once; returns what was done, in one line.</summary>
    public static string Prepare() => Outcome.Value;

    /// <summary>
    /// Fails in one sentence when LibTorch is not loadable in this process: a notebook has TorchSharp's managed
    /// assembly through Ckpt.Kernel, but LibTorch only once it references a package.
    /// </summary>
    /// <param name="what">What needs it, as the start of the sentence ("fine-tuning").</param>
    /// <param name="alternative">The command that carries LibTorch itself ("ckpt finetune").</param>
    internal static void Require(string what, string alternative)
    {
        try { torch.InitializeDeviceType(DeviceType.CPU); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            throw new NotSupportedException($"{what} runs the model with TorchSharp and LibTorch is not loaded in this process: " +
                "reference libtorch-cpu-linux-x64 (or a CUDA LibTorch) first and, on Debian 12, call " +
                $"Ckpt.Models.TorchNativeLibraries.Prepare(); or run `{alternative}`, which carries it", e);
        }
    }

    static string Load()
    {
        if (!OperatingSystem.IsLinux()) return "nothing to prepare off Linux";
        var torchSharp = typeof(torch).Assembly;
        if (NativeLibrary.TryLoad("LibTorchSharp", torchSharp, null, out _)) return "LibTorchSharp loads as it is";

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var version = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
        var source = new[]
            {
                Path.Combine(Path.GetDirectoryName(torchSharp.Location) ?? "", "..", "..", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
                Path.Combine(packages, "torchsharp", version ?? "", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            }.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"libLibTorchSharp.so of TorchSharp {version} is neither beside TorchSharp.dll nor in {packages}");
        var libtorch = Directory.Exists(Path.Combine(packages, "libtorch-cpu-linux-x64"))
            ? Directory.GetDirectories(Path.Combine(packages, "libtorch-cpu-linux-x64"))
                .Select(d => Path.Combine(d, "runtimes", "linux-x64", "native")).Where(d => File.Exists(Path.Combine(d, "libtorch.so")))
                .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;
        if (libtorch is null)
            throw new FileNotFoundException($"libtorch's native libraries are not in {packages}: reference them first, e.g. #r \"nuget: libtorch-cpu-linux-x64, 2.10.0\"");

        foreach (var gomp in Directory.GetFiles(libtorch, "libgomp*.so*")) NativeLibrary.Load(gomp);
        foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" }) NativeLibrary.Load(Path.Combine(libtorch, name));

        var bytes = File.ReadAllBytes(source);
        var folder = Path.Combine(Path.GetTempPath(), $"ckpt-libtorchsharp-{version}-{bytes.Length}");
        Directory.CreateDirectory(folder);
        var patched = Path.Combine(folder, "libLibTorchSharp.so");
        if (!File.Exists(patched) || new FileInfo(patched).Length != bytes.Length)
        {
            RelaxVersionNeed(bytes, "GLIBCXX_3.4.32");
            var temporary = patched + "." + Environment.ProcessId;
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, patched, overwrite: true);
        }
        NativeLibrary.Load(patched);
        if (!NativeLibrary.TryLoad("LibTorchSharp", torchSharp, null, out _))
            throw new DllNotFoundException($"loaded {patched}, yet TorchSharp still cannot load LibTorchSharp");
        return $"loaded a patched libLibTorchSharp.so ({patched}) over libtorch from {libtorch}";
    }

    /// <summary>
    /// The same edit as build/LibTorchSharpGlibcFix.targets: the version need becomes weak (VER_FLG_WEAK) and the
    /// symbols bound to it are rebound to the global version, so ld.so accepts an older libstdc++.
    /// </summary>
    internal static bool RelaxVersionNeed(byte[] b, string version)
    {
        int R16(long at) => b[at] | b[at + 1] << 8;
        uint R32(long at) => (uint)(R16(at) | R16(at + 2) << 16);
        long R64(long at) => (long)(R32(at) | (ulong)R32(at + 4) << 32);
        void W16(long at, int v) { b[at] = (byte)v; b[at + 1] = (byte)(v >> 8); }
        string CString(long at) { int end = Array.IndexOf(b, (byte)0, (int)at); return System.Text.Encoding.ASCII.GetString(b, (int)at, end - (int)at); }
        if (b.Length < 64 || b[0] != 0x7F || b[1] != (byte)'E' || b[4] != 2 || b[5] != 1) throw new InvalidDataException("not a little-endian ELF64 file");
        long shoff = R64(0x28);
        int shentsize = R16(0x3A), shnum = R16(0x3C);
        uint U32(int section, int field) => R32(shoff + section * shentsize + field);
        long U64(int section, int field) => R64(shoff + section * shentsize + field);
        var indices = new HashSet<int>();
        bool changed = false;
        for (int s = 0; s < shnum; s++)
        {
            if (U32(s, 4) != 0x6ffffffe) continue; // SHT_GNU_verneed
            long strtab = U64((int)U32(s, 40), 24);
            long vn = U64(s, 24);
            for (uint i = 0; i < U32(s, 44); i++)
            {
                int count = R16(vn + 2);
                long aux = vn + R32(vn + 8);
                for (int a = 0; a < count; a++)
                {
                    if (CString(strtab + R32(aux + 8)) == version)
                    {
                        int flags = R16(aux + 4);
                        if ((flags & 2) == 0) { W16(aux + 4, flags | 2); changed = true; }
                        indices.Add(R16(aux + 6) & 0x7fff);
                    }
                    aux += R32(aux + 12);
                }
                uint next = R32(vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        for (int s = 0; s < shnum && indices.Count > 0; s++)
        {
            if (U32(s, 4) != 0x6fffffff) continue; // SHT_GNU_versym
            long off = U64(s, 24), size = U64(s, 32);
            for (long at = off; at < off + size; at += 2)
                if (indices.Contains(R16(at) & 0x7fff)) { W16(at, 1); changed = true; }
        }
        return changed;
    }
}
