"""Whole-image denoising: ``sk_dae.image.ImageDenoiser`` against scikit-learn's gallery
dictionary learning, NL-means, a wavelet denoiser and BM3D, by PSNR, with times.

The protocol is scikit-learn's ``plot_image_denoising`` example's: each image (values in
[0, 1]) is cut in two, Gaussian noise of standard deviation ``sigma`` (seeded) is added
to its right half, and every method that learns, learns from the clean left half only;
the PSNR is the noisy right half's, denoised, against its clean version. Images come from
scikit-image's bundled grey test images (those that ship in its wheel: nothing is
downloaded); those larger than 256 pixels on their smaller side are downsampled 2x by
2x2 means, as the gallery does with its photo.

Methods:

- ``dictionary learning``: the gallery's: ``MiniBatchDictionaryLearning(n_components=50,
  batch_size=200, alpha=1.0, max_iter=1)`` on the left half's normalized 7x7 patches,
  OMP with 2 atoms on the noisy half's centred patches, overlapping patches averaged;
- ``NL-means``: ``skimage.restoration.denoise_nl_means`` told sigma (the gallery's
  settings: 5x5 patches, 6 pixels away, h = 0.8 sigma, fast mode);
- ``wavelet``: ``skimage.restoration.denoise_wavelet`` told sigma (BayesShrink, soft);
- ``BM3D``: the ``bm3d`` package (its authors', free for non-commercial use) told sigma;
- ``sk_dae BM3D``: sk_dae's own, in torch (``sk_dae.image.denoise_bm3d``), told sigma:
  ImageDenoiser's default guide, alone (not in the default ``--methods``);
- ``ImageDenoiser``: with ``--part collection``, one denoiser fit on the clean left
  halves of all the images with ``noise_level=(0.04, 0.11)`` (a crop's noise drawn from
  that range), told each sigma in ``transform``; with ``--part one``, fit from one image
  (the left half of ``camera``) at sigma 0.075 with its defaults (the fitting time
  target) and a 512x512 image denoised (the inference time target); with ``--part
  self``, self-supervised fits on the noisy right halves alone (``noise_level=None``),
  one per image of ``--self-images`` and way of learning (``self_supervision``: the
  default "recorrupted", and "blind_spot"; one of them with ``--set
  self_supervision=...``).

With ``--part pages``, documents: ImageDenoiser fit on (dirty, clean) pairs of
``sk_dae.datasets.make_dirty_pages`` (``--pages`` training pages, seed 0) and scored by
RMSE against the clean page on 8 held-out pages (seed 1), against classical pipelines:
a 3x3 median filter, Otsu and Sauvola thresholds, NL-means (sigma estimated), and the
paper's brightness (a 21x21 median) divided out before a median filter or Otsu.

The seconds beside each PSNR are the method's wall time on that image (for dictionary
learning: fit, once per image, plus transform; for ImageDenoiser: transform, its fit
timed once on its own row).

The user guide's tables (the sigmas in two runs, each under 10 minutes on a shared
machine)::

    flock /tmp/sk_dae_heavy.lock python benchmarks/bench_image_denoise.py --threads 1 \\
        --part collection --sigmas 0.075 --output benchmarks/results/image_denoise.md
    flock /tmp/sk_dae_heavy.lock python benchmarks/bench_image_denoise.py --threads 1 \\
        --part collection --sigmas 0.05 0.1 --output benchmarks/results/image_denoise_sigmas.md
    flock /tmp/sk_dae_heavy.lock python benchmarks/bench_image_denoise.py --threads 1 \\
        --part one --output benchmarks/results/image_denoise_one.md \\
        --figure docs/images/image_denoise_camera.png
    flock /tmp/sk_dae_heavy.lock python benchmarks/bench_image_denoise.py --threads 1 \\
        --part self --output benchmarks/results/image_denoise_self.md
    flock /tmp/sk_dae_heavy.lock python benchmarks/bench_image_denoise.py --threads 1 \\
        --part pages --output benchmarks/results/dirty_pages.md \\
        --figure docs/images/dirty_pages.png

The levers on the gap to BM3D (``--methods`` with no method, ``--set PARAM=VALUE``)
and their commands are listed in benchmarks/README.md. Smoke run:
``python benchmarks/bench_image_denoise.py --quick``.
"""

from __future__ import annotations

import importlib.util
import time
import warnings

import numpy as np
from _common import Run, base_parser, parse_params, set_threads, table

from sk_dae.image import ImageDenoiser, denoise_bm3d

#: scikit-image's grey test images that ship in its wheel (``skimage.data`` functions
#: that need no download), by name.
GREY_IMAGES = (
    "camera",
    "moon",
    "coins",
    "brick",
    "grass",
    "gravel",
    "cell",
    "clock",
    "page",
    "text",
    "checkerboard",
    "microaneurysms",
    "shepp_logan_phantom",
)
SIGMAS = (0.05, 0.075, 0.1)
#: The methods beside ImageDenoiser in ``--part collection``.
METHODS = ("dictionary learning", "NL-means", "wavelet", "BM3D", "sk_dae BM3D")
#: ImageDenoiser's ways of learning from noisy images alone, in ``--part self``.
SELF = ("recorrupted", "blind_spot")


def load_image(name):
    """The image ``name`` in [0, 1] as float32, downsampled 2x by 2x2 means when its
    smaller side is above 256."""
    from skimage import data

    image = np.asarray(getattr(data, name)(), dtype=np.float64)
    image = image / 255.0 if image.max() > 1.0 else image
    if min(image.shape) > 256:
        h, w = (s - s % 2 for s in image.shape)
        image = image[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return image.astype(np.float32)


def halves(image):
    width = image.shape[1] // 2
    return image[:, :width], image[:, width:]


def noisy_version(clean, sigma, seed):
    rng = np.random.default_rng(seed)
    return (clean + sigma * rng.standard_normal(clean.shape)).astype(np.float32)


def psnr(estimate, clean):
    return float(10 * np.log10(1.0 / np.mean((np.asarray(estimate) - clean) ** 2)))


class DictionaryLearning:
    """scikit-learn's gallery denoiser: a dictionary of 7x7 patches, OMP with 2 atoms."""

    def __init__(self, seed=0):
        self.seed = seed

    def fit(self, clean):
        from sklearn.decomposition import MiniBatchDictionaryLearning
        from sklearn.feature_extraction.image import extract_patches_2d

        data = extract_patches_2d(clean, (7, 7)).reshape(-1, 49)
        data = data - data.mean(axis=0)
        data /= data.std(axis=0)
        self.dico = MiniBatchDictionaryLearning(
            n_components=50, batch_size=200, alpha=1.0, max_iter=1, random_state=self.seed
        ).fit(data)
        return self

    def denoise(self, noisy):
        from sklearn.feature_extraction.image import (
            extract_patches_2d,
            reconstruct_from_patches_2d,
        )

        data = extract_patches_2d(noisy, (7, 7)).reshape(-1, 49)
        intercept = data.mean(axis=0)
        self.dico.set_params(transform_algorithm="omp", transform_n_nonzero_coefs=2)
        code = self.dico.transform(data - intercept)
        patches = (code @ self.dico.components_ + intercept).reshape(-1, 7, 7)
        return reconstruct_from_patches_2d(patches, noisy.shape)


def classical(name, noisy, sigma):
    from skimage.restoration import denoise_nl_means, denoise_wavelet

    if name == "NL-means":
        return denoise_nl_means(
            noisy, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5, patch_distance=6
        )
    if name == "wavelet":
        return denoise_wavelet(
            noisy, sigma=sigma, method="BayesShrink", mode="soft", rescale_sigma=True
        )
    if name == "sk_dae BM3D":
        return denoise_bm3d(noisy, sigma)
    import bm3d  # the bench extra

    return bm3d.bm3d(noisy, sigma_psd=sigma)


def save_figure(path, panels):
    """A row of grey images with their titles, written to ``path`` (the docs' figures)."""
    if path is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 3.0))
    for ax, (title, image) in zip(axes, panels.items()):
        ax.imshow(np.clip(image, 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def collection(args, names, sigmas):
    """One denoiser fit on every image's clean left half; a row per image and sigma."""
    train = [halves(load_image(n))[0] for n in names]
    denoiser = ImageDenoiser(
        **{"noise_level": (0.04, 0.11), "random_state": 0, "n_threads": args.threads, **args.params}
    )
    _, fit_seconds = timed(denoiser.fit, train)
    methods = [m for m in METHODS if m in args.methods] + ["ImageDenoiser"]
    if importlib.util.find_spec("bm3d") is None and "BM3D" in methods:  # the bench extra
        methods.remove("BM3D")
    rows, scores = [], {(m, s): [] for m in methods for s in sigmas}
    for i, name in enumerate(names):
        left, right = halves(load_image(name))
        if "dictionary learning" in methods:
            dl, dl_fit = timed(DictionaryLearning().fit, left)
        for sigma in sigmas:
            noisy = noisy_version(right, sigma, seed=i)
            row = [name, f"{sigma:g}", f"{psnr(noisy, right):.2f}"]
            for method in methods:
                if method == "dictionary learning":
                    out, seconds = timed(dl.denoise, noisy)
                    seconds += dl_fit
                elif method == "ImageDenoiser":
                    out, seconds = timed(lambda x: denoiser.transform([x], sigma)[0], noisy)
                else:
                    out, seconds = timed(classical, method, noisy, sigma)
                scores[method, sigma].append(psnr(out, right))
                row.append(f"{scores[method, sigma][-1]:.2f} ({seconds:.1f} s)")
            rows.append(row)
            print(" | ".join(row), flush=True)
    for sigma in sigmas:
        rows.append(
            ["mean", f"{sigma:g}", ""] + [f"{np.mean(scores[m, sigma]):.2f}" for m in methods]
        )
    header = ["image", "sigma", "noisy", *methods]
    text = (
        f"ImageDenoiser fit once on the clean left halves of the {len(names)} images, "
        f"noise_level=(0.04, 0.11){settings({'guide': denoiser.guide_, **args.params})}, "
        f"{denoiser.max_iter} steps: {fit_seconds:.0f} s.\n"
        "PSNR (dB) of the noisy right half denoised; the method's seconds beside it.\n\n"
    )
    return text + table(header, rows)


def one_image(args, sigma=0.075):
    """Fitting from one image (time target) and a 512x512 image denoised (inference
    target)."""
    from skimage import data

    lines = []
    left, right = halves(load_image("camera"))
    noisy = noisy_version(right, sigma, seed=0)
    denoiser = ImageDenoiser(
        noise_level=sigma, random_state=0, n_threads=args.threads, **args.params
    )
    _, fit_seconds = timed(denoiser.fit, [left], None)
    out, seconds = timed(lambda x: denoiser.transform([x])[0], noisy)
    panels = {"clean": right, f"noisy {psnr(noisy, right):.2f} dB": noisy}
    rows = [
        [
            "camera",
            "ImageDenoiser, clean left half",
            f"{fit_seconds:.0f}",
            f"{psnr(out, right):.2f}",
            f"{seconds:.1f}",
        ]
    ]
    # BM3D takes 3 s on camera's half: the smoke run (--quick) leaves it out
    with_bm3d = importlib.util.find_spec("bm3d") is not None and not args.quick
    for method in ("NL-means", "BM3D")[: 1 + with_bm3d]:
        est, seconds = timed(classical, method, noisy, sigma)
        rows.append(["camera", method, "", f"{psnr(est, right):.2f}", f"{seconds:.1f}"])
        panels[f"{method} {psnr(est, right):.2f} dB"] = est
    panels[f"ImageDenoiser {psnr(out, right):.2f} dB"] = out
    save_figure(args.figure, panels)
    full = np.asarray(data.camera(), dtype=np.float32) / 255.0
    full_noisy = noisy_version(full, sigma, seed=1)
    est, seconds = timed(lambda x: denoiser.transform([x])[0], full_noisy)
    rows.append(
        [
            "camera 512x512",
            "ImageDenoiser (same fit)",
            "",
            f"{psnr(est, full):.2f}",
            f"{seconds:.1f}",
        ]
    )
    print(rows, flush=True)
    lines.append(f"sigma {sigma}; right halves of the downsampled images unless said.\n")
    lines.append(table(["image", "method", "fit (s)", "PSNR (dB)", "denoise (s)"], rows))
    return "\n".join(lines)


def self_supervised(args, sigma=0.075):
    """Self-supervised fits on each noisy right half alone, against the gallery's
    dictionary learning learned from the clean left half."""
    rows = []
    ways = [args.params["self_supervision"]] if "self_supervision" in args.params else SELF
    for i, name in enumerate(args.self_images):
        left, right = halves(load_image(name))
        noisy = noisy_version(right, sigma, seed=i)
        for way in ways:
            params = {**args.params, "self_supervision": way}
            self_sup = ImageDenoiser(random_state=0, n_threads=args.threads, **params)
            _, fit_seconds = timed(self_sup.fit, [noisy])
            out, seconds = timed(lambda x: self_sup.transform([x])[0], noisy)
            rows.append(
                [
                    name,
                    f"ImageDenoiser, self_supervision={way!r}",
                    f"{fit_seconds:.0f}",
                    f"{psnr(out, right):.2f}",
                    f"{seconds:.1f}",
                ]
            )
        dl, dl_fit = timed(DictionaryLearning().fit, left)
        out, seconds = timed(dl.denoise, noisy)
        rows.append(
            [
                name,
                "dictionary learning (clean left half)",
                "",
                f"{psnr(out, right):.2f}",
                f"{seconds + dl_fit:.1f}",
            ]
        )
        print(rows[-1 - len(ways) :], flush=True)
    text = (
        f"sigma {sigma}; the right halves of the downsampled images; ImageDenoiser fit on "
        "the noisy right half alone (noise_level=None), with its defaults but "
        "self_supervision; dictionary learning learned from the clean left half.\n\n"
    )
    return text + table(["image", "method", "fit (s)", "PSNR (dB)", "denoise (s)"], rows)


def page_pipelines(dirty):
    """The classical document cleaners, by name: each maps a dirty page to a clean one."""
    from scipy.ndimage import median_filter
    from skimage.filters import threshold_otsu, threshold_sauvola
    from skimage.restoration import denoise_nl_means, estimate_sigma

    def flattened(page):
        # the paper's brightness (a median much wider than a letter) divided out
        return np.clip(page / np.maximum(median_filter(page, size=21), 1e-3), 0, 1)

    def nl_means(page):
        sigma = float(estimate_sigma(page))
        return denoise_nl_means(page, h=0.8 * sigma, sigma=sigma, fast_mode=True)

    return {
        "median 3x3": lambda p: median_filter(p, size=3),
        "Otsu threshold": lambda p: (p > threshold_otsu(p)).astype(np.float32),
        "Sauvola threshold": lambda p: (p > threshold_sauvola(p, window_size=25)).astype(
            np.float32
        ),
        "NL-means": nl_means,
        "background divided, median 3x3": lambda p: median_filter(flattened(p), size=3),
        "background divided, Otsu": lambda p: (flattened(p) > threshold_otsu(flattened(p))).astype(
            np.float32
        ),
    }


def pages(args):
    """ImageDenoiser on (dirty, clean) pairs of pages against classical pipelines, by
    RMSE on held-out pages."""
    from sk_dae.datasets import make_dirty_pages

    n_train, n_test = (4, 2) if args.quick else (args.pages, 8)
    dirty, clean = make_dirty_pages(n_train, random_state=0)
    test_dirty, test_clean = make_dirty_pages(n_test, random_state=1)
    denoiser = ImageDenoiser(random_state=0, n_threads=args.threads, **args.params)
    _, fit_seconds = timed(denoiser.fit, dirty, clean)

    def rmse(outs):
        return float(np.sqrt(np.mean([(o - c) ** 2 for o, c in zip(outs, test_clean)])))

    rows = [["dirty input", f"{rmse(test_dirty):.4f}", ""]]
    for name, fn in page_pipelines(test_dirty).items():
        outs, seconds = timed(lambda: [fn(p) for p in test_dirty])
        rows.append([name, f"{rmse(outs):.4f}", f"{seconds / n_test:.2f}"])
    best = min(float(r[1]) for r in rows[1:])
    outs, seconds = timed(denoiser.transform, test_dirty)
    ours = rmse(outs)
    best_name = min(rows[1:], key=lambda r: float(r[1]))[0]
    page_rmse = [float(np.sqrt(np.mean((o - c) ** 2))) for o, c in zip(outs, test_clean)]
    worst = int(np.argmax(page_rmse))  # the hardest held-out page
    best_page = page_pipelines(test_dirty)[best_name](test_dirty[worst])
    save_figure(
        args.figure,
        {
            "dirty": test_dirty[worst],
            best_name: best_page,
            f"ImageDenoiser (RMSE {page_rmse[worst]:.3f})": outs[worst],
            "clean": test_clean[worst],
        },
    )
    rows.append(["ImageDenoiser (pairs)", f"{ours:.4f}", f"{seconds / n_test:.2f}"])
    text = (
        f"make_dirty_pages: {n_train} training pages (random_state=0), {n_test} held-out "
        f"pages (random_state=1), 192x256. ImageDenoiser fit on the (dirty, clean) "
        f"training pairs with its defaults ({denoiser.max_iter} steps): {fit_seconds:.0f} s. "
        f"RMSE over the held-out pixels (1 is white); seconds per page.\n\n"
        f"ImageDenoiser / best classical: {ours / best:.2f}x.\n\n"
    )
    return text + table(["method", "RMSE", "s/page"], rows)


def settings(params):
    """``params`` as they read in a results file: ", guide='bm3d', max_iter=1200"."""
    return "".join(f", {key}={value!r}" for key, value in params.items())


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=("collection", "one", "self", "pages"), default="collection"
    )
    parser.add_argument("--pages", type=int, default=24, help="training pages (--part pages)")
    parser.add_argument("--figure", default=None, help="before/after figure (one, pages)")
    parser.add_argument("--images", nargs="+", default=list(GREY_IMAGES))
    parser.add_argument("--sigmas", nargs="+", type=float, default=list(SIGMAS))
    parser.add_argument("--self-images", nargs="*", default=["camera", "coins", "moon"])
    parser.add_argument(
        "--methods",
        nargs="*",
        default=[m for m in METHODS if m != "sk_dae BM3D"],
        choices=METHODS,
        help="the methods beside ImageDenoiser (--part collection; none for a lever's run)",
    )
    parser.add_argument(
        "--set",
        nargs="*",
        action="extend",
        default=[],
        metavar="PARAM=VALUE",
        help="ImageDenoiser parameters other than its defaults (e.g. guide=bm3d max_iter=1200)",
    )
    args = parser.parse_args(argv)
    threads = set_threads(args.threads)
    run = Run(__file__, argv, threads=args.threads)
    args.params = {}
    names, sigmas = args.images, args.sigmas
    if args.quick:
        args.params = {"max_iter": 5, "crop_size": 24, "batch_size": 4}
        names, sigmas, args.self_images = ["microaneurysms"], [0.075], ["microaneurysms"]
    args.params.update(parse_params(args.set))
    print(f"torch threads {threads}", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if args.part == "collection":
            text = collection(args, names, sigmas)
        elif args.part == "pages":
            text = pages(args)
        elif args.part == "self":
            text = self_supervised(args)
        else:
            text = one_image(args)
    report = run.finish(text, args.output)
    print(report)
    return report


if __name__ == "__main__":
    main()
