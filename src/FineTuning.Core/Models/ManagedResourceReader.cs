using System;
using System.IO;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace FineTuning.Models;

/// <summary>
/// Reads embedded (manifest) resources straight out of a .NET assembly file with System.Reflection.Metadata,
/// without loading the assembly: no code of the package runs and nothing stays loaded in the process.
/// </summary>
internal static class ManagedResourceReader
{
    /// <summary>Returns the bytes of the embedded resource <paramref name="resourceName"/> of <paramref name="assemblyPath"/>.</summary>
    /// <exception cref="FineTuningException">The file cannot be read, is not a .NET assembly, is damaged, or lacks the resource.</exception>
    internal static byte[] Read(string assemblyPath, string resourceName)
    {
        if (Directory.Exists(assemblyPath)) throw new FineTuningException($"'{assemblyPath}' is a folder, not an assembly file.");
        try
        {
            using FileStream stream = File.OpenRead(assemblyPath);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is null) throw new FineTuningException($"'{assemblyPath}' is not a .NET assembly.");
            MetadataReader metadata = pe.GetMetadataReader();
            foreach (ManifestResourceHandle handle in metadata.ManifestResources)
            {
                ManifestResource resource = metadata.GetManifestResource(handle);
                if (!metadata.StringComparer.Equals(resource.Name, resourceName)) continue;
                if (!resource.Implementation.IsNil) throw new FineTuningException($"Resource '{resourceName}' of '{assemblyPath}' lives in another file.");
                // Embedded resources sit in the CLI resources directory: a 4-byte length, then the bytes.
                int rva = pe.PEHeaders.CorHeader.ResourcesDirectory.RelativeVirtualAddress;
                PEMemoryBlock block = pe.GetSectionData(rva);
                if (resource.Offset < 0 || resource.Offset > block.Length - 4) throw new FineTuningException($"Resource '{resourceName}' of '{assemblyPath}' is out of bounds.");
                BlobReader reader = block.GetReader((int)resource.Offset, block.Length - (int)resource.Offset);
                int length = reader.ReadInt32();
                if (length < 0 || length > reader.RemainingBytes) throw new FineTuningException($"Resource '{resourceName}' of '{assemblyPath}' is truncated.");
                return reader.ReadBytes(length);
            }
            throw new FineTuningException($"'{assemblyPath}' has no embedded resource '{resourceName}'.");
        }
        catch (BadImageFormatException e)
        {
            throw new FineTuningException($"'{assemblyPath}' is not a valid .NET assembly: {e.Message}", e);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            // System.Reflection.Metadata reports some damaged headers and tables (offsets, sizes, row counts past the
            // end of their blocks) with these instead of BadImageFormatException.
            throw new FineTuningException($"'{assemblyPath}' has a damaged PE or metadata header: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FineTuningException($"'{assemblyPath}' cannot be read: {e.Message}", e);
        }
    }
}
