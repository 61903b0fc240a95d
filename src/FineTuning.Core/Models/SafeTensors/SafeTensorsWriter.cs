using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Writes named tensors in the safetensors format (<see href="https://github.com/huggingface/safetensors#format"/>):
/// tensors sorted by name with contiguous offsets, header padded with spaces to a multiple of 8 bytes.
/// Every file is written under a temporary name and renamed into place, so a failure never leaves a
/// half-written file at the target path.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>The file name suffix of a sharded checkpoint's index (<c>model.safetensors.index.json</c>).</summary>
    public const string IndexFileSuffix = ".safetensors.index.json";

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, contiguous or not, of a dtype in <see cref="SafeTensorsDType"/>)
    /// to <paramref name="path"/>, replacing the file if it exists and creating its folder if needed.
    /// </summary>
    /// <param name="path">The target .safetensors file.</param>
    /// <param name="tensors">The tensors by name; names must be non-empty and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Optional string metadata, written as <c>__metadata__</c> when not empty.</param>
    /// <exception cref="ArgumentException">A name, tensor or dtype is not writable.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        List<string> names = ValidateAndSort(tensors, metadata);
        AtomicFile.Write(path, stream => WriteFile(stream, names, tensors, metadata));
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> as shards <c>{prefix}-00001-of-0000N.safetensors</c> of at most
    /// <paramref name="maxShardBytes"/> data bytes each (a larger tensor gets a shard of its own), filled in name
    /// order, plus the index <c>{prefix}.safetensors.index.json</c> mapping each tensor to its shard. Shards
    /// are renamed into place only once all are written, and the index last. Older files with other names
    /// in <paramref name="directory"/> are left alone.
    /// </summary>
    /// <param name="directory">The output folder; created if needed.</param>
    /// <param name="tensors">The tensors by name.</param>
    /// <param name="maxShardBytes">The data budget of one shard, in bytes (headers not counted).</param>
    /// <param name="metadata">Optional string metadata, written into every shard's header and into the index's
    /// <c>metadata</c>, which also gets <c>total_size</c> (the sum of all tensor bytes).</param>
    /// <param name="filePrefix">The file name prefix; <c>model</c> gives the Hugging Face names.</param>
    /// <returns>The path of the index file.</returns>
    /// <exception cref="ArgumentException">A name, tensor, dtype, size or prefix is not usable.</exception>
    public static string WriteSharded(string directory, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes,
        IReadOnlyDictionary<string, string>? metadata = null, string filePrefix = "model")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        ArgumentException.ThrowIfNullOrEmpty(filePrefix);
        if (filePrefix != Path.GetFileName(filePrefix) || filePrefix.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new ArgumentException($"File prefix '{filePrefix}' must be a plain file name.", nameof(filePrefix));
        }

        if (metadata is not null && metadata.ContainsKey(SafeTensorsIndex.TotalSizeKey))
        {
            throw new ArgumentException($"Metadata key '{SafeTensorsIndex.TotalSizeKey}' is reserved for the index.", nameof(metadata));
        }

        List<string> names = ValidateAndSort(tensors, metadata);
        List<List<string>> shards = PlanShards(names, tensors, maxShardBytes);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var written = new List<(string Temporary, string Target)>();
        try
        {
            for (int i = 0; i < shards.Count; i++)
            {
                string fileName = $"{filePrefix}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                string target = Path.Combine(directory, fileName);
                List<string> shard = shards[i];
                written.Add((AtomicFile.WriteTemporary(target, stream => WriteFile(stream, shard, tensors, metadata)), target));
                foreach (string name in shard) weightMap.Add(name, fileName);
            }

            foreach ((string temporary, string target) in written) AtomicFile.Commit(temporary, target);
        }
        catch
        {
            foreach ((string temporary, _) in written) AtomicFile.TryDelete(temporary);
            throw;
        }

        long totalSize = names.Sum(name => ByteLength(tensors[name]));
        string indexPath = Path.Combine(directory, filePrefix + IndexFileSuffix);
        AtomicFile.Write(indexPath, stream => SafeTensorsIndex.Write(stream, totalSize, metadata, weightMap));
        return indexPath;
    }

    private static List<string> ValidateAndSort(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        foreach ((string name, Tensor tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == SafeTensorsHeaderParser.MetadataKey)
            {
                throw new ArgumentException($"'{name}' cannot be a tensor name.", nameof(tensors));
            }

            if (tensor is null || tensor.IsInvalid)
            {
                throw new ArgumentException($"Tensor '{name}' is null or disposed.", nameof(tensors));
            }

            if (!SafeTensorsDTypes.TryFromScalarType(tensor.dtype, out _))
            {
                throw new ArgumentException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors writing does not support.", nameof(tensors));
            }
        }

        if (metadata is not null)
        {
            foreach ((string key, string value) in metadata)
            {
                if (key is null || value is null) throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
            }
        }

        var names = new List<string>(tensors.Keys);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private static List<List<string>> PlanShards(List<string> names, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes)
    {
        var shards = new List<List<string>> { new() };
        long used = 0;
        foreach (string name in names)
        {
            long size = ByteLength(tensors[name]);
            if (shards[^1].Count > 0 && used + size > maxShardBytes)
            {
                shards.Add(new List<string>());
                used = 0;
            }

            shards[^1].Add(name);
            used += size;
        }

        return shards;
    }

    private static long ByteLength(Tensor tensor) =>
        tensor.NumberOfElements * SafeTensorsDTypes.ElementSize(DType(tensor));

    private static SafeTensorsDType DType(Tensor tensor)
    {
        SafeTensorsDTypes.TryFromScalarType(tensor.dtype, out SafeTensorsDType dtype);
        return dtype;
    }

    private static void WriteFile(Stream stream, List<string> names, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var entries = new List<HeaderEntry>(names.Count);
        long offset = 0;
        foreach (string name in names)
        {
            Tensor tensor = tensors[name];
            long length = ByteLength(tensor);
            entries.Add(new HeaderEntry(name, DType(tensor), tensor.shape, offset, offset + length));
            offset += length;
        }

        byte[] header = SafeTensorsHeaderWriter.Build(entries, metadata);
        Span<byte> prefix = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (string name in names)
        {
            // The scope disposes the CPU / contiguous copies made here, never the caller's tensor.
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor data = tensors[name];
            if (data.device_type != DeviceType.CPU) data = data.cpu();
            if (!data.is_contiguous()) data = data.contiguous();
            TensorBytes.Write(data, stream);
        }
    }
}
