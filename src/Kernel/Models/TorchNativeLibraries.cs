using System.Reflection;
using System.Runtime.InteropServices;

namespace Ckpt.Models;

/// <summary>
/// Loads LibTorch for hosts that take TorchSharp straight from the NuGet cache (notebooks), where the build's patch
/// (build/LibTorchSharpGlibcFix.targets) never ran. The LibTorch is, in order: the folder <c>CKPT_LIBTORCH</c> names
/// (any LibTorch's lib folder, e.g. a PyTorch's <c>torch/lib</c>); on a machine with an NVIDIA driver, the CUDA
/// libraries of the PyTorch <c>python3</c> imports (GPU.md: TorchSharp 0.107 runs on PyTorch 2.11's libraries); else
/// the libtorch-cpu-linux-x64 package, which Ckpt.Extension depends on. TorchSharp 0.107.0's libLibTorchSharp.so
/// asks for GLIBCXX_3.4.32 for one marker symbol, which older libstdc++ (Debian 12) lacks; a patched copy (that
/// version need made weak, as the build does) goes to a temporary folder, LibTorch's own libraries are loaded first
/// so the copy's dependencies resolve by soname, and the copy is loaded, so TorchSharp's later load of
/// "libLibTorchSharp.so" finds it by soname. Programs built from this repository need none of this; calling it there
/// is harmless. It has to happen before TorchSharp's <c>torch</c> type initialiser probes for LibTorch (a failed probe
/// breaks that type for the life of the process), so every Kernel entry point that needs a model calls
/// <see cref="Require"/>, and the notebook extension calls <see cref="TryPrepare"/> before a cell that names TorchSharp.
/// </summary>
public static class TorchNativeLibraries
{
    /// <summary>A LibTorch lib folder to load instead of the one found (libc10.so, libtorch_cpu.so, libtorch.so, and for CUDA libtorch_cuda.so).</summary>
    public const string OverrideVariable = "CKPT_LIBTORCH";

    static readonly Lazy<string> Outcome = new(Load);
    [ThreadStatic] static bool _resolving;

    /// <summary>Loads the natives once; returns what was done, in one line.</summary>
    public static string Prepare()
    {
        // Load probes TorchSharp's own LibTorchSharp, which calls the resolver: it must not ask for Outcome again.
        bool outer = _resolving;
        _resolving = true;
        try { return Outcome.Value; }
        finally { _resolving = outer; }
    }

    /// <summary>
    /// <see cref="Prepare"/> for a host about to run code that may use TorchSharp: true when LibTorch is loaded; on
    /// failure false, and the code's own use of TorchSharp (or <see cref="Require"/>) then says what is missing.
    /// </summary>
    public static bool TryPrepare()
    {
        try { Prepare(); return true; }
        catch (Exception e) when (e is IOException or DllNotFoundException or InvalidDataException or BadImageFormatException) { return false; }
    }

    static string? _loaded;

    /// <summary>
    /// Fails in one sentence when LibTorch is not loadable in this process, after trying to load it (<see cref="Prepare"/>).
    /// </summary>
    /// <param name="what">What needs it, as the start of the sentence ("fine-tuning").</param>
    /// <param name="alternative">The command that carries LibTorch itself ("ckpt finetune").</param>
    public static void Require(string what, string alternative)
    {
        string? reason = null;
        try { Prepare(); }
        catch (Exception e) when (e is IOException or DllNotFoundException or InvalidDataException or BadImageFormatException) { reason = e.Message; }
        try { torch.InitializeDeviceType(DeviceType.CPU); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            throw new NotSupportedException($"{what} runs the model with TorchSharp and LibTorch could not be loaded ({reason ?? e.Message}): " +
                $"set {OverrideVariable} to a LibTorch lib folder or reference libtorch-cpu-linux-x64; or run `{alternative}`, which carries it", e);
        }
    }

    static string Load()
    {
        if (!OperatingSystem.IsLinux()) return "nothing to prepare off Linux";
        var torchSharp = typeof(torch).Assembly;
        var chosen = Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } given ? given : null;
        if (chosen is null && NativeLibrary.TryLoad("LibTorchSharp", torchSharp, null, out _)) return "LibTorchSharp loads as it is";

        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var version = torchSharp.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
        var source = new[]
            {
                Path.Combine(Path.GetDirectoryName(torchSharp.Location) ?? "", "..", "..", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
                Path.Combine(Path.GetDirectoryName(torchSharp.Location) ?? "", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
                Path.Combine(packages, "torchsharp", version ?? "", "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            }.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"libLibTorchSharp.so of TorchSharp {version} is neither beside TorchSharp.dll nor in {packages}");
        if (chosen is not null && !File.Exists(Path.Combine(chosen, "libtorch.so")))
            throw new FileNotFoundException($"{OverrideVariable}={chosen} holds no libtorch.so");
        var libtorch = chosen ?? ConfiguredCudaPyTorch() ?? CpuPackage(packages)
            ?? throw new FileNotFoundException($"libtorch's native libraries are not in {packages} (the libtorch-cpu-linux-x64 package) and {OverrideVariable} is not set");

        foreach (var gomp in Directory.GetFiles(libtorch, "libgomp*.so*")) NativeLibrary.Load(gomp);
        foreach (var name in new[] { "libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so" })
            if (File.Exists(Path.Combine(libtorch, name)) && (name != "libc10_cuda.so" && name != "libtorch_cuda.so" || CudaDriverPresent()))
                NativeLibrary.Load(Path.Combine(libtorch, name));

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
        _loaded = patched;
        if (!NativeLibrary.TryLoad("LibTorchSharp", torchSharp, null, out _))
            throw new DllNotFoundException($"loaded {patched}, yet TorchSharp still cannot load LibTorchSharp");
        return $"loaded a patched libLibTorchSharp.so ({patched}) over libtorch from {libtorch}";
    }

    static bool CudaDriverPresent() => File.Exists("/dev/nvidiactl") || Directory.Exists("/proc/driver/nvidia");

    /// <summary>The lib folder of the PyTorch that `python3` imports, when it has CUDA libraries and a driver is present.</summary>
    static string? ConfiguredCudaPyTorch()
    {
        if (!CudaDriverPresent()) return null;
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo("python3", ["-c", "import os, torch; print(os.path.dirname(torch.__file__))"])
                { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = System.Diagnostics.Process.Start(info)!;
            var folder = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            var lib = Path.Combine(folder, "lib");
            return process.ExitCode == 0 && File.Exists(Path.Combine(lib, "libtorch_cuda.so")) ? lib : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // no python3
    }

    static string? CpuPackage(string packages) =>
        Directory.Exists(Path.Combine(packages, "libtorch-cpu-linux-x64"))
            ? Directory.GetDirectories(Path.Combine(packages, "libtorch-cpu-linux-x64"))
                .Select(d => Path.Combine(d, "runtimes", "linux-x64", "native")).Where(d => File.Exists(Path.Combine(d, "libtorch.so")))
                .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;

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
