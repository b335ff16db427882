<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
<context>
    <name>@default</name>
    <message>
        <location filename="../common/choices.py" line="10"/>
        <source>Auto-detect</source>
        <translation>Détection automatique</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="10"/>
        <source>Level-1 digital numbers (DN)</source>
        <translation>Niveau 1, comptes numériques (DN)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="10"/>
        <source>Top-of-atmosphere reflectance (TOA)</source>
        <translation>Réflectance au sommet de l'atmosphère (TOA)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="10"/>
        <source>Level-2 surface reflectance (SR)</source>
        <translation>Niveau 2, réflectance de surface (SR)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="17"/>
        <source>Automatic (CUDA, then Apple MPS, then CPU)</source>
        <translation>Automatique (CUDA, puis Apple MPS, puis CPU)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="17"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="17"/>
        <source>CUDA GPU</source>
        <translation>GPU CUDA</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="17"/>
        <source>Apple MPS GPU</source>
        <translation>GPU Apple MPS</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>4-band model (red, green, blue, NIR)</source>
        <translation>Modèle à 4 bandes (rouge, vert, bleu, PIR)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>Full-band model (B2-B7, cirrus, thermal)</source>
        <translation>Modèle toutes bandes (B2-B7, cirrus, thermique)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>6-band model (B2-B7: blue to SWIR2)</source>
        <translation>Modèle à 6 bandes (B2-B7 : du bleu au SWIR2)</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="121"/>
        <source>{name} without clouds</source>
        <translation>{name} sans nuages</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="135"/>
        <source>{name} cloud polygons</source>
        <translation>{name} polygones de nuages</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="123"/>
        <source>Cloud detection</source>
        <translation>Détection de nuages</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="146"/>
        <source>landsat</source>
        <translation>landsat</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="146"/>
        <source>cloud mask</source>
        <translation>masque de nuages</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="146"/>
        <source>cloud</source>
        <translation>nuage</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="147"/>
        <source>fmask</source>
        <translation>fmask</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="147"/>
        <source>segmentation</source>
        <translation>segmentation</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="148"/>
        <source>deep learning</source>
        <translation>apprentissage profond</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="148"/>
        <source>fcn</source>
        <translation>fcn</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="148"/>
        <source>cloud cover</source>
        <translation>couverture nuageuse</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="157"/>
        <source>Input raster</source>
        <translation>Raster en entrée</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="158"/>
        <source>A multi-band raster, one band file of a Landsat product folder, or the product&apos;s *_MTL.txt file or folder.</source>
        <translation>Un raster multibande, un fichier de bande d'un dossier de produit Landsat, ou le fichier *_MTL.txt du produit ou son dossier.</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="161"/>
        <source>Red band</source>
        <translation>Bande rouge</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="161"/>
        <source>Green band</source>
        <translation>Bande verte</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="161"/>
        <source>Blue band</source>
        <translation>Bande bleue</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="161"/>
        <source>NIR band</source>
        <translation>Bande PIR</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Product level</source>
        <translation>Niveau de produit</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Threshold</source>
        <translation>Seuil</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="182"/>
        <source>Unset: the threshold calibrated with the model.</source>
        <translation>Non défini : le seuil calibré avec le modèle.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Model file</source>
        <translation>Fichier de modèle</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="196"/>
        <source>Unset: the bundled model chosen with Model.</source>
        <translation>Non défini : le modèle fourni choisi avec Modèle.</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="199"/>
        <source>Tile size (pixels)</source>
        <translation>Taille des tuiles (pixels)</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="204"/>
        <source>Tile overlap (pixels)</source>
        <translation>Recouvrement des tuiles (pixels)</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="208"/>
        <source>Tiles per batch</source>
        <translation>Tuiles par lot</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="212"/>
        <source>Device</source>
        <translation>Périphérique</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Cloud mask</source>
        <translation>Masque de nuages</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Cloud probability</source>
        <translation>Probabilité de nuage</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Cloud cover (%)</source>
        <translation>Couverture nuageuse (%)</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="241"/>
        <source>Threshold used</source>
        <translation>Seuil utilisé</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="242"/>
        <source>Model used</source>
        <translation>Modèle utilisé</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="243"/>
        <source>Device used</source>
        <translation>Périphérique utilisé</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="407"/>
        <source>In qgis_process and scripts, by name or number: {values}.</source>
        <translation>Dans qgis_process et les scripts, par nom ou par numéro : {values}.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="45"/>
        <source>the 4-band model</source>
        <translation>le modèle à 4 bandes</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="45"/>
        <source>the full-band model</source>
        <translation>le modèle toutes bandes</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="46"/>
        <source>the 6-band model</source>
        <translation>le modèle à 6 bandes</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="51"/>
        <source>{value} for {model}</source>
        <translation>{value} pour {model}</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="51"/>
        <source>none bundled</source>
        <translation>aucun fourni</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="57"/>
        <source>cloud probability above which a pixel is called cloud; unset, the threshold calibrated with the model: {thresholds} (0.5 for a model file without one). Lower finds more thin cloud; the panel&apos;s Reset button returns to the model&apos;s value.</source>
        <translation>probabilité de nuage au-dessus de laquelle un pixel est classé nuage ; non défini, le seuil calibré avec le modèle : {thresholds} (0,5 pour un fichier de modèle qui n'en a pas). Plus bas, il trouve plus de nuages fins ; le bouton Réinitialiser du panneau revient à la valeur du modèle.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>Input</source>
        <translation>Entrée</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>A multi-band raster</source>
        <translation>Un raster multibande</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>for example a B2-B5 stack; the red, green, blue and NIR bands follow the layer&apos;s band descriptions (&quot;B4&quot;, &quot;Red&quot;, &quot;SR_B4&quot;) unless you set them, else the stack order 3, 2, 1, 4.</source>
        <translation>par exemple une pile B2-B5 ; les bandes rouge, verte, bleue et PIR suivent les descriptions des bandes de la couche (&quot;B4&quot;, &quot;Red&quot;, &quot;SR_B4&quot;) sauf si vous les choisissez, sinon l'ordre de la pile 3, 2, 1, 4.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>One band file of a Landsat product folder</source>
        <translation>Un fichier de bande d'un dossier de produit Landsat</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>*_B4.TIF or *_SR_B4.TIF: the other band files are found beside it by name and the band parameters are ignored; the panel lists the files it found.</source>
        <translation>*_B4.TIF ou *_SR_B4.TIF : les autres fichiers de bandes sont trouvés à côté par leur nom et les paramètres de bandes sont ignorés ; le panneau liste les fichiers trouvés.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>The product&apos;s *_MTL.txt file or its folder</source>
        <translation>Le fichier *_MTL.txt du produit ou son dossier</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>read like one of its band files, with the MTL&apos;s scaling.</source>
        <translation>lu comme l'un de ses fichiers de bandes, avec la mise à l'échelle du MTL.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="67"/>
        <source>A raster without a NIR band (an RGB picture) or an 8-bit picture cannot be used: the network needs Landsat reflectance with NIR.</source>
        <translation>Un raster sans bande PIR (une image RVB) ou une image 8 bits ne convient pas : le réseau a besoin d'une réflectance Landsat avec le PIR.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Parameters</source>
        <translation>Paramètres</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Red, green, blue and NIR bands</source>
        <translation>Bandes rouge, verte, bleue et PIR</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>the bands the network reads (Landsat 8 bands B4, B3, B2 and B5); unset, they follow the layer&apos;s band descriptions; set, they are used as given.</source>
        <translation>les bandes que lit le réseau (bandes Landsat 8 B4, B3, B2 et B5) ; non définies, elles suivent les descriptions des bandes de la couche ; définies, elles sont utilisées telles quelles.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Level-1 digital numbers, top-of-atmosphere reflectance or Level-2 surface reflectance. Auto-detect reads the MTL file, band names and value ranges; a level read from a Landsat file name is noted in the log, a level guessed from the values is a warning. A scene without its MTL file is scaled with standard constants and no sun-angle correction (a warning says so).</source>
        <translation>Niveau 1 en comptes numériques, réflectance au sommet de l'atmosphère ou réflectance de surface de niveau 2. La détection automatique lit le fichier MTL, les noms des bandes et les plages de valeurs ; un niveau lu dans un nom de fichier Landsat est noté dans le journal, un niveau deviné d'après les valeurs est un avertissement. Une scène sans son fichier MTL est mise à l'échelle avec des constantes standard, sans correction de l'angle solaire (un avertissement le signale).</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>Advanced</source>
        <translation>Avancé</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>Finishing the mask</source>
        <translation>Finition du masque</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>Minimum cloud size</source>
        <translation>Taille minimale des nuages</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>Cloud buffer</source>
        <translation>Zone tampon autour des nuages</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="76"/>
        <source>Masked image</source>
        <translation>Image masquée</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="81"/>
        <source>Cloud polygons</source>
        <translation>Polygones de nuages</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Outputs</source>
        <translation>Sorties</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Outputs in the temporary folder are marked [temporary]: they are lost when QGIS exits; save them with Export &gt; Save As. The masked image is named &quot;... without clouds&quot;, the polygons &quot;... cloud polygons&quot;.</source>
        <translation>Les sorties du dossier temporaire sont marquées [temporary] : elles sont perdues à la fermeture de QGIS ; enregistrez-les avec Exporter &gt; Enregistrer sous. L'image masquée s'appelle &quot;... sans nuages&quot;, les polygones &quot;... polygones de nuages&quot;.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="201"/>
        <source>From a shell</source>
        <translation>Depuis un terminal</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="201"/>
        <source>On Debian and Ubuntu call qgis_process.bin: their qgis_process wrapper adds --noversioncheck, which the QGIS 3.22 binary refuses. Other installers: qgis_process.</source>
        <translation>Sous Debian et Ubuntu, appelez qgis_process.bin : leur script qgis_process ajoute --noversioncheck, que le binaire de QGIS 3.22 refuse. Autres installations : qgis_process.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="201"/>
        <source>Choices are given by name or number: MODEL_CHOICE {models}; PRODUCT {products}; DEVICE {devices}.</source>
        <translation>Les choix se donnent par nom ou par numéro : MODEL_CHOICE {models} ; PRODUCT {products} ; DEVICE {devices}.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="216"/>
        <source>Accuracy</source>
        <translation>Précision</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="225"/>
        <source>Known failure cases</source>
        <translation>Cas d'échec connus</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="232"/>
        <source>How to cite</source>
        <translation>Comment citer</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="232"/>
        <source>Long, J., Shelhamer, E. and Darrell, T. (2015): Fully convolutional networks for semantic segmentation, CVPR 2015. Mohajerani, S. and Saeedi, P. (2019): Cloud-Net: an end-to-end cloud detection algorithm for Landsat 8 imagery, IGARSS 2019.</source>
        <translation>Long, J., Shelhamer, E. et Darrell, T. (2015) : Fully convolutional networks for semantic segmentation, CVPR 2015. Mohajerani, S. et Saeedi, P. (2019) : Cloud-Net: an end-to-end cloud detection algorithm for Landsat 8 imagery, IGARSS 2019.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="238"/>
        <source>Licence</source>
        <translation>Licence</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="238"/>
        <source>The plugin and its bundled weights are GPL-2.0-or-later. The weights were trained on 38-Cloud (Mohajerani and Saeedi, Apache-2.0) and the L8 Biome cloud masks (USGS, public domain).</source>
        <translation>L'extension et ses poids fournis sont sous GPL-2.0 ou ultérieure. Les poids ont été entraînés sur 38-Cloud (Mohajerani et Saeedi, Apache-2.0) et les masques de nuages L8 Biome (USGS, domaine public).</translation>
    </message>
    <message>
        <location filename="../processing/provider.py" line="30"/>
        <source>Cloud FCN (Landsat 8/9 cloud detection)</source>
        <translation>Cloud FCN (détection de nuages Landsat 8/9)</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="56"/>
        <source>Minimum cloud size (pixels)</source>
        <translation>Taille minimale des nuages (pixels)</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="60"/>
        <source>Cloud patches of fewer pixels are dropped; 0 keeps every patch.</source>
        <translation>Les taches de nuages de moins de pixels sont supprimées ; 0 garde toutes les taches.</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="61"/>
        <source>Cloud buffer (pixels)</source>
        <translation>Zone tampon autour des nuages (pixels)</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="65"/>
        <source>Clouds grow by this many pixels, after the sieve; 0 leaves them.</source>
        <translation>Les nuages s'agrandissent de ce nombre de pixels, après le tamis ; 0 les laisse tels quels.</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="171"/>
        <source>{} without clouds</source>
        <translation>{} sans nuages</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="182"/>
        <source>{} cloud polygons</source>
        <translation>{} polygones de nuages</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>Product QA band (QA_PIXEL or BQA, no network)</source>
        <translation>Bande QA du produit (QA_PIXEL ou BQA, sans réseau)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="50"/>
        <source>Thick cloud</source>
        <translation>Nuage épais</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="50"/>
        <source>Thin cloud</source>
        <translation>Nuage fin</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="218"/>
        <source>Cloud shadow</source>
        <translation>Ombre de nuage</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="233"/>
        <source>Cloud shadow cover (%)</source>
        <translation>Couverture d'ombres de nuages (%)</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="234"/>
        <source>Thick cloud cover (%)</source>
        <translation>Couverture de nuages épais (%)</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="237"/>
        <source>Thin cloud cover (%)</source>
        <translation>Couverture de nuages fins (%)</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="238"/>
        <source>Product QA band cloud cover (%)</source>
        <translation>Couverture nuageuse de la bande QA du produit (%)</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="68"/>
        <source>Classes to mask</source>
        <translation>Classes à masquer</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>which classes the four steps below act on: thick cloud, thin cloud and cloud shadow (all three unless you choose).</source>
        <translation>les classes sur lesquelles agissent les quatre étapes ci-dessous : nuage épais, nuage fin et ombre de nuage (les trois sauf si vous choisissez).</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>patches (4-connected) of the masked classes with fewer pixels become clear (GDAL sieve); 0 keeps every patch.</source>
        <translation>les taches (4-connexes) des classes masquées de moins de pixels deviennent dégagées (tamis GDAL) ; 0 garde toutes les taches.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>the masked classes grow by this many pixels (every valid pixel within that distance takes the class of the nearest masked pixel), covering the fringes where masks leak; never into fill. The sieve comes first, then the buffer. Both change the cloud mask and the cloud cover; the log also gives the cover as detected.</source>
        <translation>les classes masquées s'agrandissent de ce nombre de pixels (chaque pixel valide à cette distance prend la classe du pixel masqué le plus proche), pour couvrir les bords où les masques fuient ; jamais dans les pixels de remplissage. Le tamis vient d'abord, puis la zone tampon. Tous deux changent le masque et la couverture nuageuse ; le journal donne aussi la couverture telle que détectée.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>optional GeoTIFF: the input with the masked classes and fill pixels set to nodata: every band of a raster, or the reflective 30 m bands B1-B7 and B9 of a Landsat product as one stack with band names; the input&apos;s data type, its nodata value (else 0 for Landsat DN, NaN for reflectance).</source>
        <translation>GeoTIFF facultatif : l'entrée avec les classes masquées et les pixels de remplissage mis à nodata : toutes les bandes d'un raster, ou les bandes réfléchissantes à 30 m B1-B7 et B9 d'un produit Landsat en une seule pile avec les noms des bandes ; le type de données de l'entrée, sa valeur nodata (sinon 0 pour les DN Landsat, NaN pour la réflectance).</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="138"/>
        <source>optional GeoPackage: one polygon per patch of a masked class in the input&apos;s CRS, with its class (1, 2, 3) and class_name, its pixels and its area in square metres (area_m2; in squared map units, field area, for a CRS that is not projected).</source>
        <translation>GeoPackage facultatif : un polygone par tache d'une classe masquée dans le SCR de l'entrée, avec sa classe (1, 2, 3) et class_name, ses pixels et sa surface en mètres carrés (area_m2 ; en unités de carte au carré, champ area, pour un SCR non projeté).</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>single-band byte GeoTIFF on the input&apos;s grid, {values}; loaded with a light fill and a legend of the four classes (a cloud-only model writes 0, 1 and 255). Its name gives the model and threshold, its metadata (abstract) the device and cloud cover.</source>
        <translation>GeoTIFF d'une bande en octets sur la grille de l'entrée, {values} ; chargé avec un remplissage léger et une légende des quatre classes (un modèle limité aux nuages écrit 0, 1 et 255). Son nom donne le modèle et le seuil, ses métadonnées (résumé) le périphérique et la couverture nuageuse.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>optional float32 GeoTIFF of the network&apos;s probabilities, 0 to 1: band 1 cloud (thick + thin), then thin cloud and cloud shadow where the model has those classes.</source>
        <translation>GeoTIFF float32 facultatif des probabilités du réseau, de 0 à 1 : bande 1 nuage (épais + fin), puis nuage fin et ombre de nuage là où le modèle a ces classes.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Product QA band</source>
        <translation>Bande QA du produit</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>Model &quot;Product QA band&quot; decodes the product&apos;s own QA_PIXEL or BQA into the same codes instead of running a network (product folders and their MTL only). After a network run on such a product, the log gives the QA band&apos;s cover beside the mask&apos;s and warns when they differ strongly.</source>
        <translation>Le modèle &quot;Bande QA du produit&quot; décode la bande QA_PIXEL ou BQA du produit dans les mêmes codes au lieu d'exécuter un réseau (dossiers de produits et leur MTL seulement). Après une exécution du réseau sur un tel produit, le journal donne la couverture de la bande QA à côté de celle du masque et avertit quand elles diffèrent fortement.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="169"/>
        <source>percentage of the valid pixels that are thick or thin cloud; Cloud shadow cover, Thick and Thin cloud cover and the product QA band&apos;s cloud cover (empty without one) are outputs too, usable by the next step of a model; the model, threshold and device used are outputs too.</source>
        <translation>pourcentage des pixels valides qui sont des nuages épais ou fins ; la couverture d'ombres de nuages, les couvertures de nuages épais et fins et la couverture nuageuse de la bande QA du produit (vide sans elle) sont aussi des sorties, utilisables par l'étape suivante d'un modèle ; le modèle, le seuil et le périphérique utilisés sont aussi des sorties.</translation>
    </message>
    <message>
        <location filename="../processing/workflow.py" line="72"/>
        <source>What the sieve, the buffer, the masked image and the polygons act on; unset: thick cloud, thin cloud and cloud shadow. By name or number: thick (0), thin (1), shadow (2).</source>
        <translation>Ce sur quoi agissent le tamis, la zone tampon, l'image masquée et les polygones ; non défini : nuage épais, nuage fin et ombre de nuage. Par nom ou par numéro : thick (0), thin (1), shadow (2).</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="190"/>
        <source>Cloud FCN models (*.safetensors *.onnx *.pt *.pth);;All files (*.*)</source>
        <translation>Modèles Cloud FCN (*.safetensors *.onnx *.pt *.pth);;Tous les fichiers (*.*)</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>a checkpoint saved by the training script, or an ONNX model (.onnx) whose cloud_fcn.* metadata says its bands, normalisation and classes (it needs ONNX Runtime, which the panel installs); it replaces the bundled model.</source>
        <translation>un point de contrôle enregistré par le script d'entraînement, ou un modèle ONNX (.onnx) dont les métadonnées cloud_fcn.* indiquent ses bandes, sa normalisation et ses classes (il demande ONNX Runtime, que le panneau installe) ; il remplace le modèle fourni.</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="59"/>
        <source>0 = clear, 1 = thick cloud, 2 = thin cloud, 3 = cloud shadow, 255 = no data</source>
        <translation>0 = dégagé, 1 = nuage épais, 2 = nuage fin, 3 = ombre de nuage, 255 = sans données</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="49"/>
        <source>Cloud cover: {cover:.2f} %</source>
        <translation>Couverture nuageuse : {cover:.2f} %</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="54"/>
        <source> (thick {thick:.2f} %, thin {thin:.2f} %)</source>
        <translation> (épais {thick:.2f} %, fin {thin:.2f} %)</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="56"/>
        <source>, shadow {shadow:.2f} %</source>
        <translation>, ombre {shadow:.2f} %</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="60"/>
        <source>; product QA band: {qa:.2f} % cloud</source>
        <translation> ; bande QA du produit : {qa:.2f} % de nuages</translation>
    </message>
    <message>
        <location filename="../gui/results.py" line="128"/>
        <source>{name} cloud probability</source>
        <translation>{name} probabilité de nuage</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="216"/>
        <source>Grouped cross-validation on the 31 labelled L8 Biome patches (no biome trained on in its own fold; threshold chosen out of fold), pooled over all pixels: 6-band model cloud Jaccard 81.1 %, precision 88.9 %, recall 90.2 %, cloud shadow Jaccard 8.7 %; full-band model Jaccard 84.2 %, precision 90.1 %, recall 92.8 %; 4-band model Jaccard 74.4 %, precision 77.1 %, recall 95.4 %. For comparison ukis-csmask scores 84.8 % (4-band) and 82.1 % (6-band) on the same patches. Check the mask on your own scenes.</source>
        <translation>Validation croisée groupée sur les 31 imagettes L8 Biome étiquetées (aucun biome n'est appris dans son propre pli ; seuil choisi hors pli), sur l'ensemble des pixels : modèle à 6 bandes, indice de Jaccard des nuages 81,1 %, précision 88,9 %, rappel 90,2 %, Jaccard des ombres 8,7 % ; modèle toutes bandes, Jaccard 84,2 %, précision 90,1 %, rappel 92,8 % ; modèle à 4 bandes, Jaccard 74,4 %, précision 77,1 %, rappel 95,4 %. À titre de comparaison, ukis-csmask obtient 84,8 % (4 bandes) et 82,1 % (6 bandes) sur les mêmes imagettes. Vérifiez le masque sur vos propres scènes.</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="225"/>
        <source>Snow and sea ice are called cloud by the 4-band model; the 6-band model clears snow that is dark in SWIR1 but still errs on snow that is bright in it; fields of small, dim cumulus over dark forest are mostly missed; cloud shadow is under-detected; thin cirrus and contrails over dark water are often missed; rasters much coarser than 30 to 120 m lose small clouds.</source>
        <translation>La neige et la banquise sont classées nuage par le modèle à 4 bandes ; le modèle à 6 bandes dégage la neige sombre dans le SWIR1 mais se trompe encore sur la neige claire dans cette bande ; les champs de petits cumulus pâles sur une forêt sombre sont en grande partie manqués ; les ombres de nuages sont sous-détectées ; les cirrus fins et les traînées de condensation sur l'eau sombre sont souvent manqués ; les rasters bien plus grossiers que 30 à 120 m perdent les petits nuages.</translation>
    </message>
    <message>
        <location filename="../common/layer_input.py" line="77"/>
        <source>Product level unknown: it will be detected when the run starts.</source>
        <translation>Niveau de produit inconnu : il sera détecté au lancement.</translation>
    </message>
    <message>
        <location filename="../common/layer_input.py" line="84"/>
        <source>Could not inspect the input: {reason}</source>
        <translation>Impossible d'examiner l'entrée : {reason}</translation>
    </message>
    <message>
        <location filename="../common/names.py" line="28"/>
        <source>sieve {pixels} px</source>
        <translation>tamis {pixels} px</translation>
    </message>
    <message>
        <location filename="../common/names.py" line="30"/>
        <source>buffer {pixels} px</source>
        <translation>tampon {pixels} px</translation>
    </message>
    <message>
        <location filename="../common/run_group.py" line="71"/>
        <source>Clouds: {name} ({label})</source>
        <translation>Nuages : {name} ({label})</translation>
    </message>
    <message>
        <location filename="../common/run_group.py" line="72"/>
        <source>Clouds: {name}</source>
        <translation>Nuages : {name}</translation>
    </message>
    <message>
        <location filename="../common/names.py" line="14"/>
        <source>[temporary]</source>
        <translation>[temporaire]</translation>
    </message>
    <message>
        <location filename="../common/names.py" line="49"/>
        <source>{name} clouds</source>
        <translation>{name} nuages</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="290"/>
        <source>Reading {path}</source>
        <translation>Lecture de {path}</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="350"/>
        <source>Landsat product folder {folder}: bands found by name.</source>
        <translation>Dossier de produit Landsat {folder} : bandes trouvées par leur nom.</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="353"/>
        <source>Bands from the layer&apos;s band descriptions: {bands}.</source>
        <translation>Bandes d'après les descriptions des bandes de la couche : {bands}.</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="438"/>
        <source>Cloud cover {cover:.2f} %, shadow {shadow:.2f} % of {valid:,} valid pixels ({width}x{height}; thick cloud {thick:.1f} %, thin cloud {thin:.1f} %), {seconds:.1f} s on {device}, product {product}, {model}</source>
        <translation>Couverture nuageuse {cover:.2f} %, ombre {shadow:.2f} % de {valid:,} pixels valides ({width}x{height} ; nuage épais {thick:.1f} %, nuage fin {thin:.1f} %), {seconds:.1f} s sur {device}, produit {product}, {model}</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="446"/>
        <source>, threshold {threshold:.3f}</source>
        <translation>, seuil {threshold:.3f}</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="448"/>
        <source> ({cover:.2f} % before sieve and buffer)</source>
        <translation> ({cover:.2f} % avant tamis et tampon)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="46"/>
        <source>The product QA band is only offered for a Landsat product folder or its MTL file (they hold QA_PIXEL or BQA).</source>
        <translation>La bande QA du produit n'est proposée que pour un dossier de produit Landsat ou son fichier MTL (ils contiennent QA_PIXEL ou BQA).</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="119"/>
        <source>Detect clouds and shadows</source>
        <translation>Détecter les nuages et les ombres</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="59"/>
        <source>Detect clouds and cloud shadows in a Landsat 8/9 raster layer</source>
        <translation>Détecter les nuages et leurs ombres dans une couche raster Landsat 8/9</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="135"/>
        <source>Cloud and cloud shadow mask, and cloud cover, of a Landsat 8/9 scene by a neural network.</source>
        <translation>Masque des nuages et de leurs ombres, et couverture nuageuse, d'une scène Landsat 8/9 par un réseau de neurones.</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="146"/>
        <source>shadow</source>
        <translation>ombre</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="146"/>
        <source>cloud shadow</source>
        <translation>ombre de nuage</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="147"/>
        <source>shadow mask</source>
        <translation>masque des ombres</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="147"/>
        <source>mask</source>
        <translation>masque</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="148"/>
        <source>qa band</source>
        <translation>bande qa</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="248"/>
        <source>Finds clouds and cloud shadows in a Landsat 8 or 9 scene (Level-1, top-of-atmosphere or Level-2 surface reflectance) with a fully convolutional network and writes a mask on the same grid as the input (clear, thick cloud, thin cloud, cloud shadow), plus the cover of each class. The Detect clouds and shadows panel (toolbar button, or Raster &gt; Cloud FCN &gt; Detect clouds and shadows) runs this algorithm: the same checks, messages and history entries; where the input has a product QA band, the panel can load its mask beside the network&apos;s with one click.</source>
        <translation>Trouve les nuages et leurs ombres dans une scène Landsat 8 ou 9 (niveau 1, réflectance au sommet de l'atmosphère ou réflectance de surface de niveau 2) avec un réseau entièrement convolutif et écrit un masque sur la même grille que l'entrée (dégagé, nuage épais, nuage fin, ombre de nuage), avec la couverture de chaque classe. Le panneau Détecter les nuages et les ombres (bouton de la barre d'outils, ou Raster &gt; Cloud FCN &gt; Détecter les nuages et les ombres) exécute cet algorithme : mêmes vérifications, messages et entrées d'historique ; quand l'entrée a une bande QA de produit, le panneau peut charger son masque à côté de celui du réseau en un clic.</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="165"/>
        <source>Unset: from the layer&apos;s band descriptions, else 3, 2, 1, 4; ignored for a product&apos;s MTL file or folder (its band files are found by name).</source>
        <translation>Non défini : d'après les descriptions des bandes de la couche, sinon 3, 2, 1, 4 ; ignoré pour le fichier MTL ou le dossier d'un produit (ses fichiers de bandes sont trouvés par leur nom).</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>Automatic (chosen by the input&apos;s bands)</source>
        <translation>Automatique (selon les bandes de l'entrée)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>Physics only (Fmask&apos;s tests, no network)</source>
        <translation>Physique seule (tests de Fmask, sans réseau)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="34"/>
        <source>Where measured to help (thermal band inputs)</source>
        <translation>Là où ils ont fait leurs preuves (entrées avec bande thermique)</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="34"/>
        <source>Always, for any model</source>
        <translation>Toujours, pour tout modèle</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="34"/>
        <source>Off</source>
        <translation>Désactivé</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="40"/>
        <source>By geometry: clouds cast along the sun</source>
        <translation>Par géométrie : nuages projetés selon le soleil</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="40"/>
        <source>By geometry only</source>
        <translation>Par géométrie seulement</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="40"/>
        <source>The model&apos;s own shadow class only</source>
        <translation>La classe d'ombre du modèle seulement</translation>
    </message>
    <message>
        <location filename="../processing/detect_algorithm.py" line="214"/>
        <source>Scene-relative thermal and snow tests</source>
        <translation>Tests thermique et de neige relatifs à la scène</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>tile size and overlap in pixels (unset: the model&apos;s), tiles per batch (more is faster on a GPU and needs more memory) and the device; the device list shows which of CUDA, Apple MPS and CPU are available, and the result says which one ran; the scene-relative thermal and snow tests (where measured to help, always, or off) and how cloud shadow is found (by geometry, for every model, or the model&apos;s own class).</source>
        <translation>taille et recouvrement des tuiles en pixels (vides : ceux du modèle), tuiles par lot (plus est plus rapide sur un GPU et demande plus de mémoire) et le périphérique ; la liste des périphériques montre lesquels de CUDA, Apple MPS et CPU sont disponibles, et le résultat dit lequel a tourné ; les tests thermique et de neige relatifs à la scène (là où ils ont fait leurs preuves, toujours, ou désactivés) et la façon de trouver les ombres (par géométrie, pour tout modèle, ou la classe du modèle).</translation>
    </message>
    <message>
        <location filename="../common/choices.py" line="23"/>
        <source>4-band + 6-band together (cloud where either finds it)</source>
        <translation>4 bandes + 6 bandes ensemble (nuage là où l'un des deux en trouve)</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="46"/>
        <source>the ensemble</source>
        <translation>l'ensemble</translation>
    </message>
    <message>
        <location filename="../processing/help_text.py" line="89"/>
        <source>the 6-band model reads B2-B7 (every Landsat product, Level-1 or Level-2, and stacks whose band names say so) and marks thick cloud, thin cloud and cloud shadow; the 4-band model reads red, green, blue and NIR from any input; the full-band model reads B2-B7, cirrus B9 and thermal B10 of a Level-1 product. The last two mark cloud only. The ensemble runs the 4-band and 6-band models together: cloud where either finds it, each at its own threshold, with the scene&apos;s thermal and snow tests. Automatic takes the 4-band model with the scene&apos;s own thermal and snow tests where the input has its thermal band B10 (Level-1 products), the ensemble on Level-2 products with ST_B10, the 6-band model where the input has B2-B7 without a thermal band, else the 4-band model; the full-band model runs only when chosen. Physics only runs Fmask&apos;s tests relative to the scene, without a network. Every model gets cloud shadow by geometry: each cloud cast along the sun (the MTL&apos;s angles, else the direction the scene shows) onto dark pixels.</source>
        <translation>le modèle à 6 bandes lit B2-B7 (tout produit Landsat, de niveau 1 ou 2, et les piles dont les noms de bandes le disent) et marque les nuages épais, les nuages fins et les ombres ; le modèle à 4 bandes lit le rouge, le vert, le bleu et le proche infrarouge de toute entrée ; le modèle toutes bandes lit B2-B7, le cirrus B9 et le thermique B10 d'un produit de niveau 1. Les deux derniers ne marquent que les nuages. L'ensemble fait tourner les modèles à 4 et à 6 bandes ensemble : nuage là où l'un des deux en trouve, chacun à son propre seuil, avec les tests thermique et de neige de la scène. Automatique prend le modèle à 4 bandes avec les tests thermique et de neige propres à la scène là où l'entrée a sa bande thermique B10 (produits de niveau 1), l'ensemble sur les produits de niveau 2 avec ST_B10, le modèle à 6 bandes là où l'entrée a B2-B7 sans bande thermique, sinon le modèle à 4 bandes ; le modèle toutes bandes ne tourne que s'il est choisi. Physique seule applique les tests de Fmask relatifs à la scène, sans réseau. Chaque modèle reçoit les ombres par géométrie : chaque nuage projeté le long du soleil (angles du MTL, sinon la direction que montre la scène) sur les pixels sombres.</translation>
    </message>
</context>
<context>
    <name>AdvancedBox</name>
    <message>
        <location filename="../gui/advanced_box.py" line="33"/>
        <source>Advanced</source>
        <translation>Avancé</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="42"/>
        <source>Model file</source>
        <translation>Fichier de modèle</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="47"/>
        <source>Model&apos;s</source>
        <translation>Celui du modèle</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="46"/>
        <source>Tile size</source>
        <translation>Taille des tuiles</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="44"/>
        <source>Tile edge in pixels; the lowest value takes the model&apos;s.</source>
        <translation>Côté des tuiles en pixels ; la valeur la plus basse prend celle du modèle.</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="50"/>
        <source>Tile overlap</source>
        <translation>Recouvrement des tuiles</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="48"/>
        <source>Pixels shared by neighbouring tiles; the lowest value takes the model&apos;s.</source>
        <translation>Pixels partagés par les tuiles voisines ; la valeur la plus basse prend celle du modèle.</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="56"/>
        <source>Tiles per batch</source>
        <translation>Tuiles par lot</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="54"/>
        <source>Tiles per forward pass: more is faster on a GPU and needs more memory.</source>
        <translation>Tuiles par passe du réseau : plus est plus rapide sur un GPU et demande plus de mémoire.</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="62"/>
        <source>Device</source>
        <translation>Périphérique</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="60"/>
        <source>Where the network runs; devices this machine lacks are greyed out.</source>
        <translation>Où le réseau s'exécute ; les périphériques absents de cette machine sont grisés.</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="99"/>
        <source>Automatic (here: {device})</source>
        <translation>Automatique (ici : {device})</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="102"/>
        <source>{device} (available)</source>
        <translation>{device} (disponible)</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="104"/>
        <source>{device} (not available)</source>
        <translation>{device} (non disponible)</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="37"/>
        <source>Cloud FCN models (*.safetensors *.onnx *.pt *.pth)</source>
        <translation>Modèles Cloud FCN (*.safetensors *.onnx *.pt *.pth)</translation>
    </message>
    <message>
        <location filename="../gui/advanced_box.py" line="38"/>
        <source>A checkpoint saved by the training script, or an ONNX model whose cloud_fcn metadata says its bands, normalisation and classes (needs ONNX Runtime); empty, the bundled model chosen with Model.</source>
        <translation>Un point de contrôle enregistré par le script d'entraînement, ou un modèle ONNX dont les métadonnées cloud_fcn indiquent ses bandes, sa normalisation et ses classes (demande ONNX Runtime) ; vide, le modèle fourni choisi avec Modèle.</translation>
    </message>
</context>
<context>
    <name>BandRows</name>
    <message>
        <location filename="../gui/bands.py" line="37"/>
        <source>Red band</source>
        <translation>Bande rouge</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="37"/>
        <source>Green band</source>
        <translation>Bande verte</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="37"/>
        <source>Blue band</source>
        <translation>Bande bleue</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="37"/>
        <source>NIR band</source>
        <translation>Bande PIR</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="41"/>
        <source>Band of the layer read as Landsat {band}. Left alone it follows the layer&apos;s band descriptions; a band you pick is used as given.</source>
        <translation>Bande de la couche lue comme Landsat {band}. Laissée telle quelle, elle suit les descriptions des bandes de la couche ; une bande que vous choisissez est utilisée telle quelle.</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="46"/>
        <source>{band} file found</source>
        <translation>fichier {band} trouvé</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="71"/>
        <source>Landsat product folder {folder}: band files found by name.</source>
        <translation>Dossier de produit Landsat {folder} : fichiers de bandes trouvés par leur nom.</translation>
    </message>
    <message>
        <location filename="../gui/bands.py" line="101"/>
        <source>found when the run starts</source>
        <translation>trouvé au lancement</translation>
    </message>
</context>
<context>
    <name>DetectCloudsDock</name>
    <message>
        <location filename="../gui/dock.py" line="204"/>
        <source>Install PyTorch</source>
        <translation>Installer PyTorch</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="132"/>
        <source>Install PyTorch into a folder the plugin owns, showing pip&apos;s output.</source>
        <translation>Installer PyTorch dans un dossier propre à l'extension, en montrant la sortie de pip.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="146"/>
        <source>Why the run cannot start</source>
        <translation>Pourquoi le traitement ne peut pas démarrer</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="246"/>
        <source>Run</source>
        <translation>Exécuter</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="160"/>
        <source>Progress</source>
        <translation>Progression</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="236"/>
        <source>Cloud cover: –</source>
        <translation>Couverture nuageuse : –</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="162"/>
        <source>Cloud cover</source>
        <translation>Couverture nuageuse</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="164"/>
        <source>Run details</source>
        <translation>Détails de l'exécution</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="166"/>
        <source>Warnings</source>
        <translation>Avertissements</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="228"/>
        <source>Cloud cover: running…</source>
        <translation>Couverture nuageuse : en cours…</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="246"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="259"/>
        <source>Choose an output file, or pick Temporary layer.</source>
        <translation>Choisissez un fichier de sortie, ou prenez Temporaire.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="297"/>
        <source>The Processing algorithm {id} is not registered.</source>
        <translation>L'algorithme de traitement {id} n'est pas enregistré.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="350"/>
        <source>Cloud cover: canceled</source>
        <translation>Couverture nuageuse : annulée</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="353"/>
        <source>Cloud detection in {layer} was canceled.</source>
        <translation>La détection de nuages dans {layer} a été annulée.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="357"/>
        <source>Cloud detection in {layer} failed.</source>
        <translation>La détection de nuages dans {layer} a échoué.</translation>
    </message>
    <message>
        <location filename="../gui/follow_ups.py" line="219"/>
        <source>Cloud cover: failed</source>
        <translation>Couverture nuageuse : échec</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="382"/>
        <source>The mask {path} could not be loaded.</source>
        <translation>Le masque {path} n'a pas pu être chargé.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="398"/>
        <source>{model}, threshold {threshold:.3f}, ran on {device}.</source>
        <translation>{model}, seuil {threshold:.3f}, exécuté sur {device}.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="405"/>
        <source>The mask is a temporary file: it is lost when QGIS exits unless you save it (Export &gt; Save As).</source>
        <translation>Le masque est un fichier temporaire : il est perdu à la fermeture de QGIS si vous ne l'enregistrez pas (Exporter &gt; Enregistrer sous).</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="211"/>
        <source>Install ONNX Runtime</source>
        <translation>Installer ONNX Runtime</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="398"/>
        <source>{model}, ran on {device}.</source>
        <translation>{model}, exécuté sur {device}.</translation>
    </message>
    <message>
        <location filename="../gui/follow_ups.py" line="173"/>
        <source>Cloud cover: re-thresholding…</source>
        <translation>Couverture nuageuse : nouveau seuillage…</translation>
    </message>
    <message>
        <location filename="../gui/follow_ups.py" line="203"/>
        <source>{model}, threshold {threshold:.3f}: re-thresholded from the last run&apos;s probability in {seconds:.1f} s, without running the network again. The mask is a temporary file: it is lost when QGIS exits unless you save it (Export &gt; Save As).</source>
        <translation>{model}, seuil {threshold:.3f} : nouveau seuillage de la probabilité de la dernière exécution en {seconds:.1f} s, sans relancer le réseau. Le masque est un fichier temporaire : il est perdu à la fermeture de QGIS si vous ne l'enregistrez pas (Exporter &gt; Enregistrer sous).</translation>
    </message>
    <message>
        <location filename="../gui/follow_ups.py" line="185"/>
        <source>The mask of this run was removed: Run again to apply a new threshold.</source>
        <translation>Le masque de cette exécution a été supprimé : exécutez à nouveau pour appliquer un nouveau seuil.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="85"/>
        <source>Detect clouds and shadows</source>
        <translation>Détecter les nuages et les ombres</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="261"/>
        <source>Run Detect clouds and shadows (Processing) on the layer; while it runs, cancel it.</source>
        <translation>Exécuter Détecter les nuages et les ombres (Traitement) sur la couche ; pendant l'exécution, l'annuler.</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="319"/>
        <source>Detect clouds and shadows in {layer}: canceled</source>
        <translation>Détecter les nuages et les ombres dans {layer} : annulé</translation>
    </message>
    <message>
        <location filename="../gui/dock.py" line="323"/>
        <source>Detect clouds and shadows in {layer}</source>
        <translation>Détecter les nuages et les ombres dans {layer}</translation>
    </message>
    <message>
        <location filename="../gui/follow_ups.py" line="66"/>
        <source>Product QA band of {layer}</source>
        <translation>Bande QA du produit de {layer}</translation>
    </message>
    <message>
        <location filename="../gui/follow_ups.py" line="98"/>
        <source>The product QA band&apos;s mask of {layer} could not be loaded{why}.</source>
        <translation>Le masque de la bande QA du produit de {layer} n'a pas pu être chargé{why}.</translation>
    </message>
</context>
<context>
    <name>EngineText</name>
    <message>
        <location filename="../common/engine_text.py" line="38"/>
        <source>Level-1 DN</source>
        <translation>Niveau 1, comptes numériques (DN)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="38"/>
        <source>TOA reflectance * 10000</source>
        <translation>Réflectance au sommet de l'atmosphère (TOA) × 10000</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="38"/>
        <source>TOA reflectance</source>
        <translation>Réflectance au sommet de l'atmosphère (TOA)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="38"/>
        <source>Level-2 surface reflectance</source>
        <translation>Réflectance de surface de niveau 2</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>4-band model</source>
        <translation>modèle à 4 bandes</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>6-band model</source>
        <translation>modèle à 6 bandes</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>full-band model</source>
        <translation>modèle toutes bandes</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>product QA band</source>
        <translation>bande QA du produit</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>given model</source>
        <translation>modèle fourni</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>4-band (red, green, blue, NIR)</source>
        <translation>4 bandes (rouge, vert, bleu, PIR)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>6-band (B2-B7: blue to SWIR2)</source>
        <translation>6 bandes (B2-B7 : du bleu au SWIR2)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>Full-band (B2-B7, cirrus, thermal)</source>
        <translation>Toutes bandes (B2-B7, cirrus, thermique)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="60"/>
        <source>Collection 2 QA_PIXEL</source>
        <translation>QA_PIXEL de la collection 2</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="60"/>
        <source>Collection 1 BQA</source>
        <translation>BQA de la collection 1</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="60"/>
        <source>pre-collection BQA</source>
        <translation>BQA d'avant les collections</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="66"/>
        <source>clear</source>
        <translation>dégagé</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="66"/>
        <source>thick cloud</source>
        <translation>nuage épais</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="66"/>
        <source>thin cloud</source>
        <translation>nuage fin</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="66"/>
        <source>cloud shadow</source>
        <translation>ombre de nuage</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="66"/>
        <source>cloud mask</source>
        <translation>masque de nuages</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>from the {key} of {file}</source>
        <translation>d'après le champ {key} de {file}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>from the file name {file}</source>
        <translation>d'après le nom de fichier {file}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>because the pixels are {dtype}</source>
        <translation>car les pixels sont en {dtype}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>because the pixels are {dtype} (the sample was all fill)</source>
        <translation>car les pixels sont en {dtype} (l'échantillon ne contenait que du remplissage)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>because the {dtype} pixels peak at {top} with median {median}</source>
        <translation>car les pixels {dtype} culminent à {top} avec une médiane de {median}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>because the pixels are {dtype} with values up to {top}</source>
        <translation>car les pixels sont en {dtype} avec des valeurs jusqu'à {top}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>{why} (the file name suggests {level})</source>
        <translation>{why} (le nom de fichier suggère : {level})</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>as chosen</source>
        <translation>selon votre choix</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>as chosen (detection said {level})</source>
        <translation>selon votre choix (la détection indiquait : {level})</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>choose another product level if this is wrong</source>
        <translation>choisissez un autre niveau de produit si c'est faux</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>set the product level (l1, toa or sr) if this is wrong</source>
        <translation>indiquez le niveau de produit (l1, toa ou sr) si c'est faux</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>TOA reflectance stored as {dtype} * 10000: scaled by 1e-4</source>
        <translation>réflectance TOA stockée en {dtype} × 10000 : multipliée par 1e-4</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>TOA reflectance, used as is</source>
        <translation>réflectance TOA, utilisée telle quelle</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>Level-2 surface reflectance stored as floating point, used as is</source>
        <translation>réflectance de surface de niveau 2 en virgule flottante, utilisée telle quelle</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>Level-2 surface reflectance, scaled with the MTL&apos;s LEVEL2 REFLECTANCE_MULT/ADD</source>
        <translation>réflectance de surface de niveau 2, mise à l'échelle avec les LEVEL2 REFLECTANCE_MULT/ADD du MTL</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>Level-2 surface reflectance without MTL: standard constants 2.75e-5*DN-0.2</source>
        <translation>réflectance de surface de niveau 2 sans MTL : constantes standard 2.75e-5*DN-0.2</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>Level-1 DN, scaled with the MTL's REFLECTANCE_MULT/ADD and sun elevation {elevation}°</source>
        <translation>comptes numériques de niveau 1, mis à l'échelle avec les REFLECTANCE_MULT/ADD du MTL et une élévation solaire de {elevation}°</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>Level-1 DN without MTL: standard constants 2e-5*DN-0.1, no sun-angle correction</source>
        <translation>comptes numériques de niveau 1 sans MTL : constantes standard 2e-5*DN-0.1, sans correction de l'angle solaire</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>thermal band in degrees Celsius, turned into kelvin</source>
        <translation>bande thermique en degrés Celsius, convertie en kelvins</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>thermal band used as kelvin</source>
        <translation>bande thermique lue en kelvins</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>thermal band to kelvin with the MTL&apos;s RADIANCE_MULT/ADD and K1/K2</source>
        <translation>bande thermique convertie en kelvins avec les RADIANCE_MULT/ADD et K1/K2 du MTL</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>thermal band to kelvin with the standard Landsat 8 constants</source>
        <translation>bande thermique convertie en kelvins avec les constantes standard de Landsat 8</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>chosen</source>
        <translation>choisi</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>automatic: the input has SWIR1 and SWIR2 (B6, B7), which tell snow from cloud</source>
        <translation>automatique : l'entrée a les bandes SWIR1 et SWIR2 (B6, B7), qui distinguent la neige des nuages</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>automatic: the input has no SWIR1 and SWIR2 (B6, B7); red, green, blue, NIR only</source>
        <translation>automatique : l'entrée n'a pas les bandes SWIR1 et SWIR2 (B6, B7) ; rouge, vert, bleu et PIR seulement</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>The product&apos;s QA band ({qa_label}) flags {qa_cloud} % cloud and {qa_shadow} % shadow, this mask {mask_cloud} % cloud and {mask_shadow} % shadow.</source>
        <translation>La bande QA du produit ({qa_label}) signale {qa_cloud} % de nuages et {qa_shadow} % d'ombres, ce masque {mask_cloud} % de nuages et {mask_shadow} % d'ombres.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>The product&apos;s QA band flags {qa_cloud} % cloud, this mask {mask_cloud} %: check the mask; the probability layer shows where the network hesitated.</source>
        <translation>La bande QA du produit signale {qa_cloud} % de nuages, ce masque {mask_cloud} % : vérifiez le masque ; la couche de probabilité montre où le réseau a hésité.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Warning: {text}</source>
        <translation>Attention : {text}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>The product&apos;s QA band could not be compared with the mask ({detail}).</source>
        <translation>La bande QA du produit n'a pas pu être comparée au masque ({detail}).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Model: the product&apos;s QA band ({qa_label}, {file}).</source>
        <translation>Modèle : la bande QA du produit ({qa_label}, {file}).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Model: {model} ({why}).</source>
        <translation>Modèle : {model} ({why}).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Model: {file} ({why}).</source>
        <translation>Modèle : {file} ({why}).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Product: {reason}</source>
        <translation>Produit : {reason}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Scaling: {reason}; {thermal}.</source>
        <translation>Mise à l'échelle : {reason} ; {thermal}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Scaling: {reason}.</source>
        <translation>Mise à l'échelle : {reason}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{level}, {why}; {override}.</source>
        <translation>{level}, {why} ; {override}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{level}, {why}.</source>
        <translation>{level}, {why}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{level}, {why}</source>
        <translation>{level}, {why}</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Bands {bands} (red, green, blue, NIR) from the band names in {file}.</source>
        <translation>Bandes {bands} (rouge, vert, bleu, PIR) d'après les noms des bandes de {file}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{file} has 4 bands: taken as Landsat B2, B3, B4, B5.</source>
        <translation>{file} a 4 bandes : lues comme les bandes Landsat B2, B3, B4, B5.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{file} has 8 bands ending with a thermal band in kelvin: taken as the L8 Biome layout B2, B3, B4, B5, B6, B7, B9, B10.</source>
        <translation>{file} a 8 bandes, la dernière thermique en kelvins : lues dans l'ordre L8 Biome B2, B3, B4, B5, B6, B7, B9, B10.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{file} has {count} bands: taken as Landsat B1, B2, B3, ...</source>
        <translation>{file} a {count} bandes : lues comme les bandes Landsat B1, B2, B3, ...</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Bands (red, green, blue, NIR) = {bands}.</source>
        <translation>Bandes (rouge, vert, bleu, PIR) = {bands}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Bands {bands} ignored: the band files are known by name.</source>
        <translation>Bandes {bands} ignorées : les fichiers de bandes sont connus par leur nom.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Tile size lowered from {tile} to {size} px: {tile2} px tiles would need about {need} GB and {budget} GB can be used here; close other programs or choose a smaller --tile-size.</source>
        <translation>Taille des tuiles réduite de {tile} à {size} px : des tuiles de {tile2} px demanderaient environ {need} Go et {budget} Go sont disponibles ici ; fermez d'autres programmes ou choisissez une taille de tuile plus petite.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>GPU out of memory: retrying with batch size {count}.</source>
        <translation>Mémoire du GPU épuisée : nouvel essai avec {count} tuiles par lot.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>GPU out of memory even with batch size 1: continuing on the CPU.</source>
        <translation>Mémoire du GPU épuisée même avec 1 tuile par lot : suite sur le CPU.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{file} has no product QA band (QA_PIXEL or BQA): the product QA band can only be decoded from a Landsat product folder or its MTL file; choose a network model instead.</source>
        <translation>{file} n'a pas de bande QA de produit (QA_PIXEL ou BQA) : la bande QA ne peut être décodée que depuis un dossier de produit Landsat ou son fichier MTL ; choisissez plutôt un modèle de réseau.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{file} has {count} band(s) but cloud detection needs red, green, blue and NIR: no NIR band is available; use a raster or product folder that includes NIR (Landsat 8 B5).</source>
        <translation>{file} a {count} bande(s), mais la détection des nuages demande le rouge, le vert, le bleu et le PIR : aucune bande PIR n'est disponible ; utilisez un raster ou un dossier de produit qui contient le PIR (Landsat 8 B5).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{file} holds 8-bit values ({dtype}, 0-255), a picture rather than Landsat data: use the Landsat bands as delivered (16-bit DN) or reflectance (floating point).</source>
        <translation>{file} contient des valeurs sur 8 bits ({dtype}, 0-255), une image plutôt que des données Landsat : utilisez les bandes Landsat telles que livrées (DN sur 16 bits) ou une réflectance (virgule flottante).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>{path} is the input {file} (or one of its files): writing there would destroy it; choose another output name.</source>
        <translation>{path} est l'entrée {file} (ou l'un de ses fichiers) : y écrire la détruirait ; choisissez un autre nom de sortie.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Canceled by the user: no output was written.</source>
        <translation>Annulé par l'utilisateur : aucune sortie n'a été écrite.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>physics only</source>
        <translation>physique seule</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>surface temperature (ST_B10) to kelvin: 0.00341802 * DN + 149</source>
        <translation>température de surface (ST_B10) en kelvins : 0.00341802 * DN + 149</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>automatic: the input has its thermal band (B10), so the 4-band model runs with the scene&apos;s own thermal and snow tests, the best measured on Level-1 products</source>
        <translation>automatique : l'entrée a sa bande thermique (B10), donc le modèle à 4 bandes tourne avec les tests thermique et de neige propres à la scène, le meilleur mesuré sur les produits de niveau 1</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>shadow direction from the sun angles: {bearing}°; {matched} of {objects} cloud objects matched</source>
        <translation>direction des ombres d'après les angles du soleil : {bearing}° ; {matched} objets nuageux sur {objects} appariés</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>shadow direction estimated from the scene: {bearing}° (contrast {contrast}); {matched} of {objects} cloud objects matched</source>
        <translation>direction des ombres estimée d'après la scène : {bearing}° (contraste {contrast}) ; {matched} objets nuageux sur {objects} appariés</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>no clear shadow direction (best {bearing}°, contrast {contrast} &lt; {limit}): no shadow marked</source>
        <translation>pas de direction d'ombre nette (meilleure {bearing}°, contraste {contrast} &lt; {limit}) : aucune ombre marquée</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>no cloud objects: no shadow marked</source>
        <translation>aucun objet nuageux : aucune ombre marquée</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>too few cloud objects ({count}) to estimate a shadow direction: no shadow marked</source>
        <translation>trop peu d'objets nuageux ({count}) pour estimer la direction des ombres : aucune ombre marquée</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Model: physics only (Fmask&apos;s spectral and thermal tests relative to the scene, bands {bands}).</source>
        <translation>Modèle : physique seule (tests spectraux et thermiques de Fmask relatifs à la scène, bandes {bands}).</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Physics: cloud warmer than the scene&apos;s clear land ({offset} K) taken away except on bright, not snow-like pixels; snow (NDSI &gt; {ndsi}) taken away.</source>
        <translation>Physique : nuage plus chaud que les terres dégagées de la scène ({offset} K) retiré sauf sur les pixels brillants non enneigés ; neige (NDSI &gt; {ndsi}) retirée.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Physics: cloud warmer than the scene&apos;s clear land ({offset} K) taken away except on bright, not snow-like pixels.</source>
        <translation>Physique : nuage plus chaud que les terres dégagées de la scène ({offset} K) retiré sauf sur les pixels brillants non enneigés.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Shadow by geometry: {note}.</source>
        <translation>Ombres par géométrie : {note}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Shadow: no cloud, so no shadow.</source>
        <translation>Ombres : pas de nuage, donc pas d'ombre.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>sun {elevation}° high: shadows fall under their clouds, none marked</source>
        <translation>soleil à {elevation}° : les ombres tombent sous leurs nuages, aucune marquée</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Shadow by geometry: the MTL's sun elevation ({elevation}°) is no Landsat one, so the shadow direction is taken from the scene; {note}.</source>
        <translation>Ombres par géométrie : l'élévation du soleil du MTL ({elevation}°) n'est pas celle d'une scène Landsat, la direction des ombres est donc tirée de la scène ; {note}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Shadow by geometry: sun angles from the acquisition date in the name ({date}) and the scene's centre ({place}): azimuth {azimuth}°, elevation {elevation}°; {note}.</source>
        <translation>Ombres par géométrie : angles du soleil tirés de la date d'acquisition du nom ({date}) et du centre de la scène ({place}) : azimut {azimuth}°, élévation {elevation}° ; {note}.</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>4-band + 6-band ensemble</source>
        <translation>ensemble 4 bandes + 6 bandes</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="46"/>
        <source>4-band + 6-band together (cloud where either finds it)</source>
        <translation>4 bandes + 6 bandes ensemble (nuage là où l'un des deux en trouve)</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="76"/>
        <source>automatic: a Level-2 product with its surface temperature (ST_B10), so the 4-band and 6-band models run together with the scene&apos;s own thermal and snow tests, the best measured on Level-2 products</source>
        <translation>automatique : un produit de niveau 2 avec sa température de surface (ST_B10), donc les modèles à 4 et à 6 bandes tournent ensemble avec les tests thermique et de neige propres à la scène, le meilleur mesuré sur les produits de niveau 2</translation>
    </message>
    <message>
        <location filename="../common/engine_text.py" line="149"/>
        <source>Physics: cloud warmer than the scene&apos;s clear land ({offset} K) taken away except on bright, not snow-like pixels; snow (NDSI &gt; {ndsi}, SWIR1 &lt; {swir1}) taken away.</source>
        <translation>Physique : nuage plus chaud que les terres dégagées de la scène ({offset} K) retiré sauf sur les pixels brillants non enneigés ; neige (NDSI &gt; {ndsi}, SWIR1 &lt; {swir1}) retirée.</translation>
    </message>
</context>
<context>
    <name>ParametersForm</name>
    <message>
        <location filename="../gui/form.py" line="75"/>
        <source>Threshold</source>
        <translation>Seuil</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="111"/>
        <source>Input layer</source>
        <translation>Couche en entrée</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="108"/>
        <source>The Landsat 8/9 raster to find clouds in: a multi-band stack, or one band file of a product folder (the other bands are found beside it by name).</source>
        <translation>Le raster Landsat 8/9 où chercher les nuages : une pile multibande, ou un fichier de bande d'un dossier de produit (les autres bandes sont trouvées à côté par leur nom).</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="113"/>
        <source>Detected product level</source>
        <translation>Niveau de produit détecté</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="114"/>
        <source>Detected</source>
        <translation>Détecté</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="121"/>
        <source>Product level</source>
        <translation>Niveau de produit</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="118"/>
        <source>How the pixel values are scaled to reflectance. Auto-detect reads the MTL file, band names and value ranges, and warns when it had to guess.</source>
        <translation>Comment les valeurs des pixels sont converties en réflectance. La détection automatique lit le fichier MTL, les noms des bandes et les plages de valeurs, et avertit quand elle a dû deviner.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="132"/>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="148"/>
        <source>Temporary layer</source>
        <translation>Temporaire</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="148"/>
        <source>Write the mask to a temporary file: it is lost when QGIS exits.</source>
        <translation>Écrire le masque dans un fichier temporaire : il est perdu à la fermeture de QGIS.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="151"/>
        <source>File</source>
        <translation>Fichier</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="151"/>
        <source>Write the mask to a GeoTIFF file.</source>
        <translation>Écrire le masque dans un fichier GeoTIFF.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="155"/>
        <source>GeoTIFF (*.tif *.tiff)</source>
        <translation>GeoTIFF (*.tif *.tiff)</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="157"/>
        <source>Output file</source>
        <translation>Fichier de sortie</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="167"/>
        <source>Output</source>
        <translation>Sortie</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="337"/>
        <source>Calibrated threshold of {model}.</source>
        <translation>Seuil calibré de {model}.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="359"/>
        <source>Choose a raster layer.</source>
        <translation>Choisissez une couche raster.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="427"/>
        <source> (a guess: choose the product level if it is wrong)</source>
        <translation> (une supposition : choisissez le niveau de produit s'il est faux)</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="157"/>
        <source>GeoTIFF file for the mask (0 = clear, 1 = thick cloud, 2 = thin cloud, 3 = cloud shadow, 255 = no data).</source>
        <translation>Fichier GeoTIFF du masque (0 = dégagé, 1 = nuage épais, 2 = nuage fin, 3 = ombre de nuage, 255 = sans données).</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="319"/>
        <source>The product QA band is decoded as it is: no threshold applies.</source>
        <translation>La bande QA du produit est décodée telle quelle : aucun seuil ne s'applique.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="135"/>
        <source>Model file used</source>
        <translation>Fichier de modèle utilisé</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="377"/>
        <source>Tick at least one class to mask (Mask finishing): with none, the sieve, the buffer, the masked image and the polygons would have nothing to act on.</source>
        <translation>Cochez au moins une classe à masquer (Finitions) : sans aucune, le tamis, le tampon, l'image masquée et les polygones n'auraient rien sur quoi agir.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="387"/>
        <source>The model file {name} is used (Advanced &gt; Model file); clear it to choose a model here.</source>
        <translation>Le fichier de modèle {name} est utilisé (Avancé &gt; Fichier de modèle) ; videz-le pour choisir un modèle ici.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="139"/>
        <source>Also load the product QA band&apos;s mask</source>
        <translation>Charger aussi le masque de la bande QA du produit</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="140"/>
        <source>Product QA band beside</source>
        <translation>Bande QA du produit à côté</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="140"/>
        <source>Where the input has a product QA band (QA_PIXEL or BQA), also decode it after the run and load its mask, styled like this one, into the run&apos;s group: compare the two without a second run.</source>
        <translation>Si l'entrée a une bande QA de produit (QA_PIXEL ou BQA), la décoder aussi après l'exécution et charger son masque, avec le même style, dans le groupe de l'exécution : comparez les deux sans seconde exécution.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="125"/>
        <source>Automatic takes the 4-band model with the scene&apos;s own thermal and snow tests where the input has its thermal band (Level-1 products), the 4-band and 6-band models together on Level-2 products with ST_B10, the 6-band model (B2-B7, with thin cloud) where the input has B2-B7 without a thermal band, else the 4-band model; the full-band model runs only when chosen. Every model gets cloud shadow by geometry.</source>
        <translation>Automatique prend le modèle à 4 bandes avec les tests thermique et de neige propres à la scène là où l'entrée a sa bande thermique (produits de niveau 1), les modèles à 4 et à 6 bandes ensemble sur les produits de niveau 2 avec ST_B10, le modèle à 6 bandes (B2-B7, avec les nuages fins) là où l'entrée a B2-B7 sans bande thermique, sinon le modèle à 4 bandes ; le modèle toutes bandes ne tourne que s'il est choisi. Chaque modèle reçoit les ombres par géométrie.</translation>
    </message>
    <message>
        <location filename="../gui/form.py" line="333"/>
        <source>Each model of the ensemble is cut at its own calibrated threshold, mapped onto 0.5.</source>
        <translation>Chaque modèle de l'ensemble est coupé à son propre seuil calibré, ramené à 0,5.</translation>
    </message>
</context>
<context>
    <name>ThresholdRow</name>
    <message>
        <location filename="../gui/threshold.py" line="43"/>
        <source>Threshold slider</source>
        <translation>Curseur du seuil</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="43"/>
        <source>Cloud probability above which a pixel is cloud. Lower finds more thin cloud.</source>
        <translation>Probabilité de nuage au-dessus de laquelle un pixel est un nuage. Plus bas, il trouve plus de nuages fins.</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="51"/>
        <source>Threshold</source>
        <translation>Seuil</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="51"/>
        <source>Type the cloud probability threshold (0.001 to 0.999).</source>
        <translation>Saisissez le seuil de probabilité de nuage (0,001 à 0,999).</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="54"/>
        <source>Reset</source>
        <translation>Réinitialiser</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="55"/>
        <source>Reset threshold</source>
        <translation>Réinitialiser le seuil</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="55"/>
        <source>Go back to the threshold calibrated with the model.</source>
        <translation>Revenir au seuil calibré avec le modèle.</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="92"/>
        <source>Your threshold.</source>
        <translation>Votre seuil.</translation>
    </message>
    <message>
        <location filename="../gui/threshold.py" line="136"/>
        <source>Your threshold; the model&apos;s calibrated one is {value:.3f}.</source>
        <translation>Votre seuil ; celui calibré pour le modèle est {value:.3f}.</translation>
    </message>
</context>
<context>
    <name>WorkflowBox</name>
    <message>
        <location filename="../gui/workflow_box.py" line="39"/>
        <source>Mask finishing</source>
        <translation>Finitions</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="63"/>
        <source>Off</source>
        <translation>Désactivé</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="59"/>
        <source>Cloud buffer</source>
        <translation>Zone tampon autour des nuages</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="59"/>
        <source>Grow the classes to mask by this many pixels: cloud edges and thin fringes are where masks leak. Off keeps them as detected.</source>
        <translation>Agrandir les classes à masquer de ce nombre de pixels : les bords des nuages et les franges fines sont là où les masques fuient. Désactivé les garde telles que détectées.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="62"/>
        <source>Cloud buffer (pixels)</source>
        <translation>Zone tampon autour des nuages (pixels)</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="64"/>
        <source>Smallest cloud</source>
        <translation>Plus petit nuage</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="64"/>
        <source>Drop patches of the classes to mask with fewer pixels than this (sieve), before the buffer. Off keeps every patch.</source>
        <translation>Supprimer les taches des classes à masquer de moins de pixels que ceci (tamis), avant la zone tampon. Désactivé garde toutes les taches.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="67"/>
        <source>Smallest cloud (pixels)</source>
        <translation>Plus petit nuage (pixels)</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="69"/>
        <source>Masked image</source>
        <translation>Image masquée</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="69"/>
        <source>Also write the input with the classes to mask and fill set to no data.</source>
        <translation>Écrire aussi l'entrée avec les classes à masquer et le remplissage mis à sans données.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="71"/>
        <source>GeoTIFF (*.tif *.tiff)</source>
        <translation>GeoTIFF (*.tif *.tiff)</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="72"/>
        <source>Masked image file</source>
        <translation>Fichier de l'image masquée</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="72"/>
        <source>GeoTIFF for the masked image; empty, a temporary file.</source>
        <translation>GeoTIFF de l'image masquée ; vide, un fichier temporaire.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="75"/>
        <source>Cloud polygons</source>
        <translation>Polygones de nuages</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="75"/>
        <source>Also write the classes to mask as polygons with their class and area, in the input&apos;s CRS.</source>
        <translation>Écrire aussi les classes à masquer en polygones avec leur classe et leur surface, dans le SCR de l'entrée.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="78"/>
        <source>GeoPackage (*.gpkg)</source>
        <translation>GeoPackage (*.gpkg)</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="79"/>
        <source>Cloud polygons file</source>
        <translation>Fichier des polygones de nuages</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="79"/>
        <source>GeoPackage for the cloud polygons; empty, a temporary file.</source>
        <translation>GeoPackage des polygones de nuages ; vide, un fichier temporaire.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="52"/>
        <source>Mask this class: the buffer, the sieve, the masked image and the polygons act on the classes ticked here.</source>
        <translation>Masquer cette classe : la zone tampon, le tamis, l'image masquée et les polygones agissent sur les classes cochées ici.</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="57"/>
        <source>Classes to mask</source>
        <translation>Classes à masquer</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="87"/>
        <source>Load the probability layer</source>
        <translation>Charger la couche de probabilité</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="88"/>
        <source>Probability layer</source>
        <translation>Couche de probabilité</translation>
    </message>
    <message>
        <location filename="../gui/workflow_box.py" line="88"/>
        <source>Also write the network&apos;s probabilities (band 1 cloud, then thin cloud and shadow where the model has them) to a temporary file and load it beside the mask: it shows where the network hesitated.</source>
        <translation>Écrire aussi les probabilités du réseau (bande 1 nuage, puis nuage fin et ombre là où le modèle les a) dans un fichier temporaire et la charger à côté du masque : elle montre où le réseau a hésité.</translation>
    </message>
</context>
</TS>
