using System.Runtime.CompilerServices;

namespace Ckpt.Extension.Tests;

/// <summary>
/// This project tests the magics in a host without LibTorch (Ckpt.Extension.Training.Tests runs them with it): the
/// extension would load LibTorch from the package cache on first use, so the override names an empty folder, and
/// the magics that need a model say so in one sentence. Notebooks started from here get the variable removed.
/// </summary>
static class WithoutLibTorch
{
    [ModuleInitializer]
    internal static void PointTheOverrideAtAnEmptyFolder() =>
        Environment.SetEnvironmentVariable(Ckpt.Models.TorchNativeLibraries.OverrideVariable,
            Directory.CreateTempSubdirectory("ckpt-no-libtorch-").FullName);
}
